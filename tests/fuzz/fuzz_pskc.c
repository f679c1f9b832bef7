/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_pskc.c -- PSKC import (RFC 6030: authn/pskc.c, pskc_crypto.c,
 * pskc_key.c), as POST /v1/admin/tokens/import and `guichetd tokens
 * import` run it.
 *
 * The first input byte picks the mode:
 *   bit 7 clear: the rest is the file, read with no unlock (bits 0-1 = 0),
 *     the pre-shared AES-128 key 000102..0f (1), the AES-256 key
 *     000102..1f (2), or the password "guichet-fuzz" (3);
 *   bit 7 set: the rest are parameters from which the harness writes an
 *     encrypted container whose MACs verify (cipher, MAC, PBKDF2 or key,
 *     raw ciphertext so the padding is the fuzzer's, encrypted counters,
 *     duplicate serials, a broken ValueMAC) -- the paths a fuzzer could
 *     never reach by mutating bytes under an HMAC.
 *
 * Properties besides "no crash": keys come back only with OK or
 * MAC_INVALID; a key with no reason to refuse has a 16..128-byte secret,
 * a printable serial of at most 64 characters and valid OTP parameters;
 * with MAC_INVALID no secret is handed out at all; every serial is valid
 * UTF-8 (the import's "rejected" list shows it).
 */
#include "fuzz.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authn/otp.h"
#include "authn/pskc.h"

#define NOW ((time_t) 1750000000)       /* 2025-06-15 */
#define PASSWORD "guichet-fuzz"
#define MAX_PBKDF2_ITER 10000

static const uint8_t key32[32] = {
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
};

static void
check_result (enum authn_pskc_status st, struct authn_pskc *p)
{
  FUZZ_CHECK (authn_pskc_status_reason (st) != NULL
              && authn_pskc_status_message (st) != NULL);
  if (st != AUTHN_PSKC_OK && st != AUTHN_PSKC_MAC_INVALID)
    {
      FUZZ_CHECK (p == NULL);
      return;
    }
  FUZZ_CHECK (p != NULL);
  FUZZ_CHECK (p->nkeys <= AUTHN_PSKC_MAX_KEYS);
  for (size_t i = 0; i < p->nkeys; i++)
    {
      const struct authn_pskc_key *k = &p->keys[i];

      FUZZ_CHECK (k->position == i + 1);
      FUZZ_CHECK (k->manufacturer != NULL);
      /* what the import answers in "rejected" must render as JSON */
      if (k->serial != NULL)
        {
          json_t *js = json_string (k->serial);

          FUZZ_CHECK (js != NULL);
          json_decref (js);
        }
      if (st == AUTHN_PSKC_MAC_INVALID)
        {
          /* nothing is judged or decrypted once a MAC fails */
          FUZZ_CHECK (k->secret == NULL);
          continue;
        }
      if (k->reject != NULL)
        {
          FUZZ_CHECK (k->secret == NULL);
          continue;
        }
      FUZZ_CHECK (k->secret != NULL);
      FUZZ_CHECK (k->secret_len >= AUTHN_PSKC_MIN_SECRET
                  && k->secret_len <= AUTHN_PSKC_MAX_SECRET);
      FUZZ_CHECK (k->serial != NULL && strlen (k->serial) >= 1
                  && strlen (k->serial) <= AUTHN_PSKC_SERIAL_MAX);
      FUZZ_CHECK (!fuzz_has_control (k->serial));
      FUZZ_CHECK (authn_otp_params_valid (&k->otp));
      FUZZ_CHECK (k->valid_until == 0 || k->valid_until > NOW);
    }
}

static void
read_and_check (const char *xml, size_t len,
                const struct authn_pskc_unlock *u)
{
  struct authn_pskc *p = NULL;
  enum authn_pskc_status st = authn_pskc_read (xml, len, u, NOW, &p);

  check_result (st, p);
  authn_pskc_free (p);
}

/* ------------------------------------------------------- raw files */

/* PBKDF2 at up to 2,000,000 iterations is allowed (an admin's upload),
   but a fuzzer has better things to do: skip the password when the file
   may ask for more than MAX_PBKDF2_ITER (or hides the count in a
   character reference). */
static bool
cheap_pbkdf2 (const char *xml)
{
  for (const char *p = strstr (xml, "IterationCount"); p != NULL;
       p = strstr (p + 1, "IterationCount"))
    {
      const char *gt = strchr (p, '>');
      unsigned long n = 0;

      if (gt == NULL)
        continue;
      for (gt++; *gt == ' ' || *gt == '\t' || *gt == '\r' || *gt == '\n';
           gt++)
        ;
      if (*gt == '&' || (*gt == '<' && gt[1] == '!'))
        return false;           /* a reference, a CDATA section, a comment */
      for (; *gt >= '0' && *gt <= '9'; gt++)
        if ((n = n * 10 + (unsigned long) (*gt - '0')) > MAX_PBKDF2_ITER)
          return false;
    }
  return true;
}

static void
raw_file (unsigned int mode, const uint8_t *data, size_t size)
{
  struct authn_pskc_unlock u = { 0 };
  char *xml = fuzz_strndup (data, size);

  if (xml == NULL)
    return;
  switch (mode & 3)
    {
    case 1:
      u.key = key32;
      u.key_len = 16;
      break;
    case 2:
      u.key = key32;
      u.key_len = 32;
      break;
    case 3:
      if (cheap_pbkdf2 (xml))
        u.password = PASSWORD;
      break;
    default:
      break;
    }
  read_and_check (xml, size, (mode & 3) != 0 ? &u : NULL);
  free (xml);
}

/* ------------------------------------------------ written containers */

static const struct {
  const char *uri;
  size_t key_len;
  const char *evp;
} ciphers[] = {
  { "http://www.w3.org/2001/04/xmlenc#aes128-cbc", 16, "AES-128-CBC" },
  { "http://www.w3.org/2001/04/xmlenc#aes192-cbc", 24, "AES-192-CBC" },
  { "http://www.w3.org/2001/04/xmlenc#aes256-cbc", 32, "AES-256-CBC" },
};

static const struct {
  const char *uri;
  const char *md;
} macs[] = {
  { "http://www.w3.org/2000/09/xmldsig#hmac-sha1", "SHA1" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224", "SHA224" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", "SHA256" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384", "SHA384" },
  { "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512", "SHA512" },
};

/* A cursor over the fuzzer's parameter bytes (zeros once used up). */
struct cursor {
  const uint8_t *p;
  size_t n;
};

static uint8_t
next (struct cursor *c)
{
  if (c->n == 0)
    return 0;
  c->n--;
  return *c->p++;
}

/* A growing text buffer. */
struct out {
  char *s;
  size_t len, cap;
  bool nomem;
};

static void
put (struct out *o, const char *s, size_t n)
{
  if (o->nomem)
    return;
  if (o->len + n + 1 > o->cap)
    {
      size_t cap = (o->len + n + 1) * 2;
      char *s2 = realloc (o->s, cap);

      if (s2 == NULL)
        {
          o->nomem = true;
          return;
        }
      o->s = s2;
      o->cap = cap;
    }
  memcpy (o->s + o->len, s, n);
  o->len += n;
  o->s[o->len] = '\0';
}

static void
puts_ (struct out *o, const char *s)
{
  put (o, s, strlen (s));
}

static void
put_b64 (struct out *o, const uint8_t *b, size_t n)
{
  char *t = malloc (4 * ((n + 2) / 3) + 1);

  if (t == NULL)
    {
      o->nomem = true;
      return;
    }
  EVP_EncodeBlock ((unsigned char *) t, b, (int) n);
  puts_ (o, t);
  free (t);
}

/* IV (zeros but the first byte) || AES-CBC(key, data): PKCS #7 padding,
   or none when @a raw (data is then cut to whole blocks, at least one). */
static uint8_t *
encrypt (size_t ci, const uint8_t *key, const uint8_t *data, size_t n,
         bool raw, uint8_t iv0, size_t *out_len)
{
  EVP_CIPHER *c = EVP_CIPHER_fetch (NULL, ciphers[ci].evp, NULL);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  uint8_t iv[16] = { iv0 }, zero[16] = { 0 };
  uint8_t *out = NULL;
  int n1 = 0, n2 = 0;

  if (raw && n < 16)
    {
      data = zero;
      n = 16;
    }
  if (raw)
    n -= n % 16;
  out = malloc (16 + n + 16);
  if (c == NULL || ctx == NULL || out == NULL
      || EVP_EncryptInit_ex2 (ctx, c, key, iv, NULL) != 1
      || EVP_CIPHER_CTX_set_padding (ctx, raw ? 0 : 1) != 1
      || EVP_EncryptUpdate (ctx, out + 16, &n1, data, (int) n) != 1
      || EVP_EncryptFinal_ex (ctx, out + 16 + n1, &n2) != 1)
    {
      free (out);
      out = NULL;
    }
  else
    {
      memcpy (out, iv, 16);
      *out_len = 16 + (size_t) n1 + (size_t) n2;
    }
  EVP_CIPHER_CTX_free (ctx);
  EVP_CIPHER_free (c);
  return out;
}

struct writer {
  size_t ci, mi;
  uint8_t key[32];
  uint8_t mac_key[128];
  size_t mac_key_len;
};

/* <tag>EncryptionMethod, CipherData</tag>, then <ValueMAC> if @a with_mac */
static void
put_encrypted (struct out *o, const struct writer *w, const char *tag,
               const uint8_t *data, size_t n, bool raw, bool with_mac,
               bool break_mac)
{
  size_t len = 0;
  uint8_t *ct = encrypt (w->ci, w->key, data, n, raw, (uint8_t) n, &len);
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;

  if (ct == NULL)
    {
      o->nomem = true;
      return;
    }
  puts_ (o, "<");
  puts_ (o, tag);
  puts_ (o, "><xenc:EncryptionMethod Algorithm=\"");
  puts_ (o, ciphers[w->ci].uri);
  puts_ (o, "\"/><xenc:CipherData><xenc:CipherValue>");
  put_b64 (o, ct, len);
  puts_ (o, "</xenc:CipherValue></xenc:CipherData></");
  puts_ (o, tag);
  puts_ (o, ">");
  if (with_mac
      && HMAC (EVP_get_digestbyname (macs[w->mi].md), w->mac_key,
               (int) w->mac_key_len, ct, len, md, &md_len) != NULL)
    {
      if (break_mac)
        md[0] ^= 1;
      puts_ (o, "<ValueMAC>");
      put_b64 (o, md, md_len);
      puts_ (o, "</ValueMAC>");
    }
  free (ct);
}

static void
put_package (struct out *o, const struct writer *w, const char *serial,
             bool totp, const uint8_t *secret, size_t secret_len, bool raw,
             bool break_mac, const uint8_t *counter, size_t counter_len)
{
  puts_ (o, "<KeyPackage><DeviceInfo><Manufacturer>Fuzz</Manufacturer>"
            "<SerialNo>");
  puts_ (o, serial);
  puts_ (o, "</SerialNo></DeviceInfo><Key Id=\"k\" Algorithm=\"");
  puts_ (o, totp ? "urn:ietf:params:xml:ns:keyprov:pskc:totp"
                 : "urn:ietf:params:xml:ns:keyprov:pskc:hotp");
  puts_ (o, "\"><AlgorithmParameters><ResponseFormat Length=\"6\" "
            "Encoding=\"DECIMAL\"/></AlgorithmParameters><Data><Secret>");
  put_encrypted (o, w, "EncryptedValue", secret, secret_len, raw, true,
                 break_mac);
  puts_ (o, "</Secret>");
  if (counter != NULL)
    {
      puts_ (o, totp ? "<TimeDrift>" : "<Counter>");
      put_encrypted (o, w, "EncryptedValue", counter, counter_len, false,
                     true, false);
      puts_ (o, totp ? "</TimeDrift>" : "</Counter>");
    }
  if (totp)
    puts_ (o, "<TimeInterval><PlainValue>30</PlainValue></TimeInterval>");
  puts_ (o, "</Data></Key></KeyPackage>\n");
}

static void
written_file (const uint8_t *data, size_t size)
{
  struct cursor c = { data, size };
  struct writer w = { .ci = next (&c) % 3, .mi = next (&c) % 5 };
  uint8_t flags = next (&c), param = next (&c);
  bool password = flags & 8;
  unsigned int iter = 1 + param % 64;
  uint8_t salt[8] = { param, 1, 2, 3, 4, 5, 6, 7 };
  uint8_t secret[256], counter[16];
  size_t secret_len, counter_len;
  char serial[AUTHN_PSKC_SERIAL_MAX + 8];
  size_t sn = 0;
  struct authn_pskc_unlock u = { 0 };
  struct out o = { 0 };

  w.mac_key_len = 1 + next (&c) % 128;
  for (size_t i = 0; i < w.mac_key_len; i++)
    w.mac_key[i] = (uint8_t) (i * 7 + 1);
  secret_len = next (&c);
  for (size_t i = 0; i < secret_len; i++)
    secret[i] = next (&c);
  counter_len = 1 + next (&c) % 10;
  for (size_t i = 0; i < counter_len; i++)
    counter[i] = next (&c);
  while (c.n > 0 && sn < AUTHN_PSKC_SERIAL_MAX + 2)
    {
      uint8_t ch = next (&c);

      if (ch > ' ' && ch < 0x7f && ch != '<' && ch != '&' && ch != '>')
        serial[sn++] = (char) ch;
    }
  serial[sn] = '\0';
  if (password)
    {
      if (PKCS5_PBKDF2_HMAC (PASSWORD, (int) strlen (PASSWORD), salt,
                             sizeof salt, (int) iter,
                             EVP_get_digestbyname (macs[w.mi].md),
                             (int) ciphers[w.ci].key_len, w.key) != 1)
        return;
      u.password = PASSWORD;
    }
  else
    {
      memcpy (w.key, key32, ciphers[w.ci].key_len);
      u.key = key32;
      u.key_len = ciphers[w.ci].key_len;
    }

  puts_ (&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KeyContainer "
             "Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\" "
             "xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" "
             "xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\" "
             "xmlns:pkcs5=\"http://www.rsasecurity.com/rsalabs/pkcs/"
             "schemas/pkcs-5v2-0#\"><EncryptionKey>");
  if (password)
    {
      char num[16];

      puts_ (&o, "<xenc11:DerivedKey><xenc11:KeyDerivationMethod Algorithm="
                 "\"http://www.rsasecurity.com/rsalabs/pkcs/schemas/"
                 "pkcs-5v2-0#pbkdf2\"><pkcs5:PBKDF2-params><Salt>"
                 "<Specified>");
      put_b64 (&o, salt, sizeof salt);
      snprintf (num, sizeof num, "%u", iter);
      puts_ (&o, "</Specified></Salt><IterationCount>");
      puts_ (&o, num);
      snprintf (num, sizeof num, "%zu", ciphers[w.ci].key_len);
      puts_ (&o, "</IterationCount><KeyLength>");
      puts_ (&o, num);
      puts_ (&o, "</KeyLength><PRF Algorithm=\"");
      puts_ (&o, macs[w.mi].uri);
      puts_ (&o, "\"/></pkcs5:PBKDF2-params></xenc11:KeyDerivationMethod>"
                 "</xenc11:DerivedKey>");
    }
  else
    puts_ (&o, "<KeyName xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"
               "fuzz</KeyName>");
  puts_ (&o, "</EncryptionKey><MACMethod Algorithm=\"");
  puts_ (&o, macs[w.mi].uri);
  puts_ (&o, "\">");
  put_encrypted (&o, &w, "MACKey", w.mac_key, w.mac_key_len,
                 flags & 64, false, false);
  puts_ (&o, "</MACMethod>\n");
  put_package (&o, &w, serial, flags & 4, secret, secret_len, flags & 1,
               flags & 32, (flags & 2) ? counter : NULL, counter_len);
  if (flags & 16)               /* the same token again */
    put_package (&o, &w, serial, flags & 4, secret, secret_len, false,
                 false, NULL, 0);
  puts_ (&o, "</KeyContainer>\n");
  if (!o.nomem)
    read_and_check (o.s, o.len, &u);
  free (o.s);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1 || size > 65536)
    return 0;
  if (data[0] & 0x80)
    written_file (data + 1, size - 1);
  else
    raw_file (data[0], data + 1, size - 1);
  return 0;
}
