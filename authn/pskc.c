/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pskc.c -- the XML side of PSKC (RFC 6030) import: a libxml2 parse that
 * can fetch nothing, then a walk of KeyContainer / KeyPackage that turns
 * each package into a struct authn_pskc_key with a reason when it cannot
 * be imported.
 *
 * The order is the point: parse, read every package, check every ValueMAC
 * of the file (pskc_crypto.c), and only then decrypt and judge each key.
 * Elements are matched by local name, as vendors mix prefixes freely; the
 * root must be a PSKC 1.0 KeyContainer.  A repeated singleton element
 * (two Secrets, two SerialNos) makes its key "malformed_key" rather than
 * letting the first or the last silently win.  Secrets are cleansed from
 * our copies and from the parsed tree before it is freed.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>

#include "authn/pskc_int.h"

#define PSKC_NS "urn:ietf:params:xml:ns:keyprov:pskc"

/* A KeyPackage until it is judged. */
struct pkg {
  struct pskc_raw raw;
  xmlNode *secret_plain;     /* Secret/PlainValue, cleansed at the end */
};

struct reader {
  xmlDoc *doc;
  struct pskc_container c;
  struct pskc_keys k;
  struct pkg *pkgs;
  struct authn_pskc *out;
};

/* ------------------------------------------------------- safe parsing */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static __thread bool doctype_seen;

/* Nothing outside the document is ever read, whatever asks for it. */
static xmlParserInputPtr
deny_entity_loader (const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
  (void) url;
  (void) id;
  (void) ctxt;
  return NULL;
}

static void
xml_init (void)
{
  xmlInitParser ();
  xmlSetExternalEntityLoader (deny_entity_loader);
}

/* SAX: a <!DOCTYPE ...> stops the parse before its internal subset, so
   no entity (external or billion-laughs) is ever declared. */
static void
refuse_doctype (void *ctx, const xmlChar *name, const xmlChar *ext_id,
                const xmlChar *sys_id)
{
  (void) name;
  (void) ext_id;
  (void) sys_id;
  doctype_seen = true;
  xmlStopParser ((xmlParserCtxtPtr) ctx);
}

/* The number of '<' in @a xml, up to @a max + 1. */
static size_t
tags (const char *xml, size_t len, size_t max)
{
  const char *p = xml, *end = xml + len;
  size_t n = 0;

  while (n <= max && (p = memchr (p, '<', (size_t) (end - p))) != NULL)
    {
      n++;
      p++;
    }
  return n;
}

/* Blank text between elements is dropped (XML_PARSE_NOBLANKS): nothing
   reads it, and it would double the tree of an indented file. */
static xmlDoc *
parse_safely (const char *xml, size_t len)
{
  xmlParserCtxtPtr ctxt;
  xmlDoc *doc;

  pthread_once (&xml_once, xml_init);
  if (len == 0 || len > INT_MAX || (ctxt = xmlNewParserCtxt ()) == NULL)
    return NULL;
  ctxt->sax->internalSubset = refuse_doctype;
  doctype_seen = false;
  doc = xmlCtxtReadMemory (ctxt, xml, (int) len, NULL, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR
                           | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
  if (doc != NULL && (doctype_seen || !ctxt->wellFormed
                      || doc->intSubset != NULL || doc->extSubset != NULL))
    {
      xmlFreeDoc (doc);
      doc = NULL;
    }
  xmlFreeParserCtxt (ctxt);
  return doc;
}

/* ------------------------------------------------------- tree helpers */

static bool
named (const xmlNode *n, const char *name)
{
  return n != NULL && n->type == XML_ELEMENT_NODE
         && xmlStrEqual (n->name, BAD_CAST name);
}

/* The child element @a name of @a parent (NULL-safe); a second one sets
   *dup. */
static xmlNode *
child (const xmlNode *parent, const char *name, bool *dup)
{
  xmlNode *found = NULL;

  for (xmlNode *n = parent != NULL ? parent->children : NULL; n != NULL;
       n = n->next)
    if (named (n, name))
      {
        if (found != NULL)
          *dup = true;
        else
          found = n;
      }
  return found;
}

static char *
trimmed_dup (const char *s)
{
  size_t len;

  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  len = strlen (s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'
                     || s[len - 1] == '\r' || s[len - 1] == '\n'))
    len--;
  return strndup (s, len);
}

/* The trimmed text of @a n, malloc'd; NULL only when out of memory.  The
   tree's copy is cleansed, as it may be a secret. */
static char *
text_of (const xmlNode *n)
{
  xmlChar *c = xmlNodeGetContent (n);
  char *t;

  if (c == NULL)
    return strdup ("");
  t = trimmed_dup ((const char *) c);
  OPENSSL_cleanse (c, strlen ((const char *) c));
  xmlFree (c);
  return t;
}

/* An unqualified attribute, trimmed and malloc'd; NULL if absent. */
static char *
attr_of (const xmlNode *n, const char *name)
{
  xmlChar *a = n != NULL ? xmlGetNoNsProp (n, BAD_CAST name) : NULL;
  char *t;

  if (a == NULL)
    return NULL;
  t = trimmed_dup ((const char *) a);
  xmlFree (a);
  return t;
}

static bool
parse_i64 (const char *s, int64_t lo, int64_t hi, int64_t *out)
{
  char *end;
  long long v;

  if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
    return false;
  v = strtoll (s, &end, 10);
  if (*end != '\0' || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

/* ----------------------------------------------------------- values */

/* xmlenc EncryptionMethod/@Algorithm and CipherData/CipherValue. */
static int
read_encrypted (const xmlNode *enc, struct pskc_value *v, bool *dup)
{
  xmlNode *cv = child (child (enc, "CipherData", dup), "CipherValue", dup);
  char *t;
  long n;

  v->cipher_uri = attr_of (child (enc, "EncryptionMethod", dup), "Algorithm");
  v->cipher = pskc_cipher_find (v->cipher_uri);
  if (cv == NULL)
    {
      v->bad = true;
      return 0;
    }
  if ((t = text_of (cv)) == NULL)
    return -1;
  n = pskc_b64_decode (t, &v->data);
  free (t);
  v->bad = n < 0;
  v->data_len = n < 0 ? 0 : (size_t) n;
  return 0;
}

static int
read_mac (const xmlNode *mac, struct pskc_value *v)
{
  char *t = text_of (mac);
  long n;

  if (t == NULL)
    return -1;
  n = pskc_b64_decode (t, &v->mac);
  free (t);
  v->mac_bad = n <= 0;
  v->mac_len = n < 0 ? 0 : (size_t) n;
  return 0;
}

/* A data element (Secret, Counter, ...): PlainValue, or EncryptedValue
   with its ValueMAC.  @return 0, or -1 when out of memory. */
static int
read_value (const xmlNode *el, struct pskc_value *v, xmlNode **plain_node,
            bool *dup)
{
  xmlNode *plain = child (el, "PlainValue", dup);
  xmlNode *enc = child (el, "EncryptedValue", dup);
  xmlNode *mac = child (el, "ValueMAC", dup);

  if (el == NULL)
    return 0;
  v->present = true;
  if ((plain == NULL) == (enc == NULL))
    {
      v->bad = true;
      return 0;
    }
  if (plain_node != NULL)
    *plain_node = plain;
  if (plain != NULL)
    return (v->plain = text_of (plain)) == NULL ? -1 : 0;
  v->encrypted = true;
  if (read_encrypted (enc, v, dup) != 0)
    return -1;
  return mac != NULL ? read_mac (mac, v) : 0;
}

/* ------------------------------------------------------- container */

static void
read_pbkdf2 (const xmlNode *dk, struct pskc_container *c)
{
  bool dup = false;
  xmlNode *kdm = child (dk, "KeyDerivationMethod", &dup);
  xmlNode *p = child (kdm, "PBKDF2-params", &dup);
  xmlNode *salt = child (child (p, "Salt", &dup), "Specified", &dup);
  xmlNode *iter = child (p, "IterationCount", &dup);
  xmlNode *klen = child (p, "KeyLength", &dup);
  xmlNode *prf = child (p, "PRF", &dup);
  char *alg = attr_of (kdm, "Algorithm");
  char *t_salt = salt != NULL ? text_of (salt) : NULL;
  char *t_iter = iter != NULL ? text_of (iter) : NULL;
  char *t_klen = klen != NULL ? text_of (klen) : NULL;
  int64_t n_iter = 0, n_klen = 0;
  long n_salt = -1;

  /* the schema's Algorithm attribute; python-pskc 1.2 writes the URI as
     the element's text instead, so take that when there is no attribute */
  c->prf_uri = attr_of (prf, "Algorithm");
  if (c->prf_uri == NULL && prf != NULL)
    c->prf_uri = text_of (prf);
  if (t_salt != NULL)
    n_salt = pskc_b64_decode (t_salt, &c->salt);
  c->salt_len = n_salt > 0 ? (size_t) n_salt : 0;
  c->derived_bad = dup || alg == NULL || strcmp (alg, pskc_pbkdf2_uri) != 0
                   || n_salt <= 0
                   || !parse_i64 (t_iter, 1, AUTHN_PSKC_MAX_ITERATIONS,
                                  &n_iter)
                   || (t_klen != NULL
                       && !parse_i64 (t_klen, 1, PSKC_MAX_KEY, &n_klen));
  c->iterations = (unsigned long) n_iter;
  c->derived_len = (size_t) n_klen;
  free (alg);
  free (t_salt);
  free (t_iter);
  free (t_klen);
}

/* EncryptionKey and MACMethod.  @return 0, or -1 (malformed). */
static int
read_container (const xmlNode *root, struct pskc_container *c)
{
  bool dup = false;
  xmlNode *ek = child (root, "EncryptionKey", &dup);
  xmlNode *mm = child (root, "MACMethod", &dup);
  xmlNode *dk = child (ek, "DerivedKey", &dup);
  xmlNode *mk = child (mm, "MACKey", &dup);

  c->derived = dk != NULL;
  if (dk != NULL)
    read_pbkdf2 (dk, c);
  if (mm != NULL)
    {
      c->mac_uri = attr_of (mm, "Algorithm");
      if (c->mac_uri == NULL)
        c->mac_uri = strdup ("");
    }
  if (mk != NULL)
    {
      c->mac_key.present = true;
      if (read_encrypted (mk, &c->mac_key, &dup) != 0)
        return -1;
    }
  return dup ? -1 : 0;
}

static void
container_clear (struct pskc_container *c)
{
  free (c->salt);
  free (c->prf_uri);
  free (c->mac_uri);
  pskc_value_clear (&c->mac_key);
  memset (c, 0, sizeof *c);
}

/* ---------------------------------------------------------- packages */

/* The trimmed text of @a n into *out (NULL if @a n is). @return 0 or -1. */
static int
opt_text (const xmlNode *n, char **out)
{
  *out = NULL;
  if (n == NULL)
    return 0;
  return (*out = text_of (n)) == NULL ? -1 : 0;
}

static int
read_device (const xmlNode *dev, struct pskc_raw *r, struct authn_pskc_key *k)
{
  xmlNode *manuf = child (dev, "Manufacturer", &r->dup);

  k->manufacturer = manuf != NULL ? text_of (manuf) : strdup ("");
  if (k->manufacturer == NULL
      || opt_text (child (dev, "SerialNo", &r->dup), &k->serial) != 0
      || opt_text (child (dev, "StartDate", &r->dup), &r->dates[0]) != 0
      || opt_text (child (dev, "ExpiryDate", &r->dup), &r->dates[1]) != 0)
    return -1;
  return 0;
}

static int
read_key (const xmlNode *key, struct pkg *p)
{
  struct pskc_raw *r = &p->raw;
  xmlNode *params = child (key, "AlgorithmParameters", &r->dup);
  xmlNode *fmt = child (params, "ResponseFormat", &r->dup);
  xmlNode *data = child (key, "Data", &r->dup);
  xmlNode *policy = child (key, "Policy", &r->dup);

  r->alg_uri = attr_of (key, "Algorithm");
  r->encoding = attr_of (fmt, "Encoding");
  r->length = attr_of (fmt, "Length");
  if (opt_text (child (params, "Suite", &r->dup), &r->suite) != 0
      || opt_text (child (policy, "StartDate", &r->dup), &r->dates[2]) != 0
      || opt_text (child (policy, "ExpiryDate", &r->dup), &r->dates[3]) != 0)
    return -1;
  if (read_value (child (data, "Secret", &r->dup), &r->secret,
                  &p->secret_plain, &r->dup) != 0
      || read_value (child (data, "Counter", &r->dup), &r->counter, NULL,
                     &r->dup) != 0
      || read_value (child (data, "TimeInterval", &r->dup), &r->interval,
                     NULL, &r->dup) != 0
      || read_value (child (data, "TimeDrift", &r->dup), &r->drift, NULL,
                     &r->dup) != 0)
    return -1;
  return 0;
}

static int
read_package (const xmlNode *node, struct pkg *p, struct authn_pskc_key *k)
{
  xmlNode *dev = child (node, "DeviceInfo", &p->raw.dup);
  xmlNode *key = child (node, "Key", &p->raw.dup);

  p->raw.no_key = key == NULL;
  if (read_device (dev, &p->raw, k) != 0)
    return -1;
  return key != NULL ? read_key (key, p) : 0;
}

static bool
root_ok (const xmlNode *root)
{
  char *version;
  bool ok;

  if (!named (root, "KeyContainer") || root->ns == NULL
      || !xmlStrEqual (root->ns->href, BAD_CAST PSKC_NS))
    return false;
  version = attr_of (root, "Version");
  ok = version == NULL || strcmp (version, "1.0") == 0;
  free (version);
  return ok;
}

static enum authn_pskc_status
read_all (struct reader *rd, const xmlNode *root)
{
  size_t n = 0, i = 0;

  for (xmlNode *x = root->children; x != NULL; x = x->next)
    n += named (x, "KeyPackage");
  if (n == 0 || n > AUTHN_PSKC_MAX_KEYS)   /* RFC 6030: one or more */
    return AUTHN_PSKC_MALFORMED;
  rd->pkgs = calloc (n + 1, sizeof *rd->pkgs);
  rd->out->keys = calloc (n + 1, sizeof *rd->out->keys);
  if (rd->pkgs == NULL || rd->out->keys == NULL)
    return AUTHN_PSKC_NOMEM;
  rd->out->nkeys = n;
  if (read_container (root, &rd->c) != 0)
    return AUTHN_PSKC_MALFORMED;
  for (xmlNode *x = root->children; x != NULL; x = x->next)
    if (named (x, "KeyPackage"))
      {
        rd->out->keys[i].position = (unsigned int) (i + 1);
        if (read_package (x, &rd->pkgs[i], &rd->out->keys[i]) != 0)
          return AUTHN_PSKC_NOMEM;
        i++;
      }
  return AUTHN_PSKC_OK;
}

/* ------------------------------------------------ integrity, then keys */

static struct pskc_value *
value_at (struct pkg *p, int i)
{
  struct pskc_value *v[] = { &p->raw.secret, &p->raw.counter,
                             &p->raw.interval, &p->raw.drift };

  return v[i];
}

/* Whether any value is encrypted, with which cipher, and whether each
   can be checked at all. */
static enum authn_pskc_status
scan_encrypted (struct reader *rd, bool *need,
                const struct pskc_cipher **first)
{
  *need = false;
  *first = NULL;
  for (size_t i = 0; i < rd->out->nkeys; i++)
    for (int j = 0; j < 4; j++)
      {
        const struct pskc_value *v = value_at (&rd->pkgs[i], j);

        if (!v->encrypted)
          continue;
        *need = true;
        if (v->cipher == NULL && !v->bad)
          return AUTHN_PSKC_UNSUPPORTED;
        if (v->mac == NULL && !v->mac_bad)
          return AUTHN_PSKC_MAC_MISSING;
        if (*first == NULL)
          *first = v->cipher;
      }
  if (*first == NULL)
    *first = rd->c.mac_key.cipher;
  return AUTHN_PSKC_OK;
}

/* Every ValueMAC of the file, before any value is decrypted.  A value
   that cannot be checked counts as a failed MAC. */
static enum authn_pskc_status
verify_macs (struct reader *rd)
{
  enum authn_pskc_status st = AUTHN_PSKC_OK;

  for (size_t i = 0; i < rd->out->nkeys; i++)
    for (int j = 0; j < 4; j++)
      {
        const struct pskc_value *v = value_at (&rd->pkgs[i], j);

        if (!v->encrypted)
          continue;
        if (v->bad || v->mac_bad || !pskc_value_mac_ok (&rd->k, v))
          {
            rd->out->keys[i].reject = "mac_invalid";
            st = AUTHN_PSKC_MAC_INVALID;
          }
      }
  return st;
}

static enum authn_pskc_status
judge_all (struct reader *rd, time_t now)
{
  for (size_t i = 0; i < rd->out->nkeys; i++)
    pskc_judge (&rd->pkgs[i].raw, &rd->k, now, &rd->out->keys[i]);
  return pskc_mark_duplicates (rd->out) == 0 ? AUTHN_PSKC_OK
                                              : AUTHN_PSKC_NOMEM;
}

/* Cleanse the secrets' text in the tree, then free everything read. */
static void
reader_clear (struct reader *rd)
{
  for (size_t i = 0; rd->pkgs != NULL && i < rd->out->nkeys; i++)
    {
      for (xmlNode *t = rd->pkgs[i].secret_plain != NULL
                        ? rd->pkgs[i].secret_plain->children : NULL;
           t != NULL; t = t->next)
        if (t->content != NULL && !xmlDictOwns (rd->doc->dict, t->content))
          OPENSSL_cleanse (t->content, strlen ((const char *) t->content));
      pskc_raw_clear (&rd->pkgs[i].raw);
    }
  free (rd->pkgs);
  container_clear (&rd->c);
  pskc_keys_clear (&rd->k);
  xmlFreeDoc (rd->doc);
}

enum authn_pskc_status
authn_pskc_read (const char *xml, size_t len,
                 const struct authn_pskc_unlock *unlock, time_t now,
                 struct authn_pskc **out)
{
  struct reader rd = { .doc = NULL };
  const struct pskc_cipher *first = NULL;
  enum authn_pskc_status st;
  bool need = false;

  *out = NULL;
  if ((rd.out = calloc (1, sizeof *rd.out)) == NULL)
    return AUTHN_PSKC_NOMEM;
  if (tags (xml, len, AUTHN_PSKC_MAX_TAGS) > AUTHN_PSKC_MAX_TAGS)
    {
      authn_pskc_free (rd.out);
      return AUTHN_PSKC_TOO_MANY_TAGS;
    }
  rd.doc = parse_safely (xml, len);
  st = rd.doc != NULL && root_ok (xmlDocGetRootElement (rd.doc))
       ? read_all (&rd, xmlDocGetRootElement (rd.doc)) : AUTHN_PSKC_MALFORMED;
  if (st == AUTHN_PSKC_OK)
    st = scan_encrypted (&rd, &need, &first);
  if (st == AUTHN_PSKC_OK)
    st = pskc_keys_unlock (&rd.c, unlock, first, need, &rd.k);
  if (st == AUTHN_PSKC_OK)
    st = verify_macs (&rd);
  if (st == AUTHN_PSKC_OK)
    st = judge_all (&rd, now);
  rd.out->encrypted = need;
  reader_clear (&rd);
  if (st == AUTHN_PSKC_OK || st == AUTHN_PSKC_MAC_INVALID)
    *out = rd.out;
  else
    authn_pskc_free (rd.out);
  return st;
}

void
authn_pskc_free (struct authn_pskc *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; p->keys != NULL && i < p->nkeys; i++)
    {
      struct authn_pskc_key *k = &p->keys[i];

      if (k->secret != NULL)
        OPENSSL_cleanse (k->secret, k->secret_len);
      free (k->secret);
      free (k->serial);
      free (k->manufacturer);
    }
  free (p->keys);
  free (p);
}
