/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_load.c -- the load generator of tests/bench/transactions: complete
 * transactions against a running guichetd, each one three requests on one
 * keep-alive connection:
 *
 *   POST /v1/transactions                 (the relying party's API key)
 *   POST /v1/transactions/{id}/approve    (the phone: a signed device
 *                                          request carrying ECDSA over T)
 *   GET  /v1/transactions/{id}            (the relying party reads
 *                                          "approved")
 *
 * One thread per connection, each playing its own customer's phone (a
 * P-256 key in PEM, made by the driver).  Closed loop (as fast as the
 * server answers) or paced: with --rate R the threads share R complete
 * transactions per second on a fixed schedule, and a transaction's latency
 * runs from its scheduled start, so a server that falls behind is charged
 * for the wait (no coordinated omission).  A wrong answer counts as an
 * error, never as a transaction.  Prints one line: TX_RESULT {json}.
 *
 *   tx_load HOST PORT API_KEY PHONES_FILE SECONDS [RATE]
 *
 * PHONES_FILE: one "customer_id device_id key.pem" line per connection.
 * OpenSSL (ECDSA, SHA-256) and jansson only; no Guichet code, so the
 * bench measures the server, not a shared library.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define MAX_PHONES 64
#define BUF 65536

static const char *host;
static int port;
static const char *api_key;
static double seconds, rate;
static struct timespec t_start;

struct phone {
  pthread_t thread;
  int index, nphones;
  char customer[80], device[80];
  EVP_PKEY *key;
  int fd;
  char buf[BUF];
  size_t have;
  /* results */
  double *lat;
  size_t n, cap;
  unsigned long errors;
};

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) (ts.tv_sec - t_start.tv_sec)
         + (double) (ts.tv_nsec - t_start.tv_nsec) / 1e9;
}

/* ---------------------------------------------------------------- HTTP */

static int
connect_to (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM, 0), one = 1;

  inet_pton (AF_INET, host, &a.sin_addr);
  if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) != 0)
  {
    if (fd >= 0)
      close (fd);
    return -1;
  }
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Send @a req, read one answer into p->buf.  @return the status (body at
   *body, NUL-terminated), or -1 (the connection is then reopened). */
static int
exchange (struct phone *p, const char *req, size_t len, char **body)
{
  size_t off = 0;
  char *end;
  long clen;
  int status;

  if (p->fd < 0 && (p->fd = connect_to ()) < 0)
    return -1;
  while (off < len)
  {
    ssize_t w = send (p->fd, req + off, len - off, MSG_NOSIGNAL);

    if (w <= 0)
      goto broken;
    off += (size_t) w;
  }
  p->have = 0;
  for (;;)
  {
    ssize_t r = recv (p->fd, p->buf + p->have, BUF - 1 - p->have, 0);
    char *cl;

    if (r <= 0)
      goto broken;
    p->have += (size_t) r;
    p->buf[p->have] = '\0';
    if (NULL == (end = strstr (p->buf, "\r\n\r\n")))
      continue;
    cl = strcasestr (p->buf, "\r\nContent-Length:");
    clen = (NULL != cl && cl < end) ? strtol (cl + 17, NULL, 10) : 0;
    if (p->have >= (size_t) (end + 4 - p->buf) + (size_t) clen)
      break;
  }
  status = atoi (p->buf + 9);
  *body = end + 4;
  return status;
broken:
  close (p->fd);
  p->fd = -1;
  return -1;
}

/* ---------------------------------------------------------------- crypto */

static char *
b64url (const unsigned char *d, size_t n)
{
  static const char a[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  char *o = malloc (4 * n / 3 + 4), *q = o;

  for (size_t i = 0; i < n; i += 3)
  {
    unsigned v = (unsigned) d[i] << 16 | (i + 1 < n ? d[i + 1] << 8 : 0)
                 | (i + 2 < n ? d[i + 2] : 0);

    *q++ = a[v >> 18 & 63];
    *q++ = a[v >> 12 & 63];
    if (i + 1 < n)
      *q++ = a[v >> 6 & 63];
    if (i + 2 < n)
      *q++ = a[v & 63];
  }
  *q = '\0';
  return o;
}

/* Rewrite the DER signature in @a der as its low-s twin (s <= n/2), as
   API.md requires and a phone sends: OpenSSL draws either half.
   @return the new length, or 0. */
static size_t
low_s (unsigned char *der, size_t len, size_t cap)
{
  static const char order_hex[] =
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
  const unsigned char *in = der;
  unsigned char *out = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG (NULL, &in, (long) len);
  BIGNUM *n = NULL, *half = NULL, *s2 = NULL;
  const BIGNUM *r, *s;
  size_t res = 0;

  if (NULL == sig || 0 == BN_hex2bn (&n, order_hex)
      || NULL == (half = BN_new ()) || ! BN_rshift1 (half, n))
    goto done;
  ECDSA_SIG_get0 (sig, &r, &s);
  if (BN_cmp (s, half) > 0)
  {
    BIGNUM *r2 = BN_dup (r);

    if (NULL == (s2 = BN_new ()) || NULL == r2 || ! BN_sub (s2, n, s)
        || 1 != ECDSA_SIG_set0 (sig, r2, s2))
    {
      BN_free (r2);
      BN_free (s2);
      goto done;
    }
  }
  if (i2d_ECDSA_SIG (sig, NULL) <= (int) cap)
    res = (size_t) i2d_ECDSA_SIG (sig, &out);
done:
  ECDSA_SIG_free (sig);
  BN_free (n);
  BN_free (half);
  return res;
}

static char *
sign (EVP_PKEY *key, const char *msg)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  unsigned char der[128];
  size_t len = sizeof der;
  char *out = NULL;

  if (EVP_DigestSignInit (md, NULL, EVP_sha256 (), NULL, key) == 1
      && EVP_DigestSign (md, der, &len, (const unsigned char *) msg,
                         strlen (msg)) == 1
      && 0 != (len = low_s (der, len, sizeof der)))
    out = b64url (der, len);
  EVP_MD_CTX_free (md);
  return out;
}

static void
sha256_hex (const char *s, char hex[65])
{
  unsigned char h[32];
  unsigned int n = 0;

  EVP_Digest (s, strlen (s), h, &n, EVP_sha256 (), NULL);
  for (int i = 0; i < 32; i++)
    sprintf (hex + 2 * i, "%02x", h[i]);
}

/* ---------------------------------------------------------------- one */

/* The value of "&@a key=" in @a payload (unreserved characters only). */
static void
payload_field (const char *payload, const char *key, char *out, size_t len)
{
  char pat[8];
  const char *v;
  size_t n;

  snprintf (pat, sizeof pat, "&%s=", key);
  v = strstr (payload, pat);
  out[0] = '\0';
  if (NULL == v)
    return;
  v += strlen (pat);
  n = strcspn (v, "&");
  snprintf (out, len, "%.*s", (int) (n < len ? n : len - 1), v);
}

/* One complete transaction.  @return 0, or -1 (a wrong answer). */
static int
one (struct phone *p)
{
  static const char body_fmt[] =
    "{\"customer_id\":\"%s\",\"amount\":\"125.00\",\"currency\":\"EUR\","
    "\"payee_name\":\"ACME SARL\",\"payee_iban\":\"FR7630006000011234567890189\"}";
  char body[512], req[2048], id[64], nonce[64], t[512], path[128];
  char msg[256], hash[65], ts[24], approve[256];
  char *answer, *sig = NULL, *req_sig = NULL;
  json_t *j;
  int st, rc = -1;

  snprintf (body, sizeof body, body_fmt, p->customer);
  snprintf (req, sizeof req, "POST /v1/transactions HTTP/1.1\r\nHost: %s\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\n\r\n%s", host, api_key, strlen (body), body);
  if (201 != (st = exchange (p, req, strlen (req), &answer)))
    return -1;
  j = json_loads (answer, 0, NULL);
  if (NULL == j || NULL == json_string_value (json_object_get (j, "qr_payload")))
  {
    json_decref (j);
    return -1;
  }
  payload_field (json_string_value (json_object_get (j, "qr_payload")), "id",
                 id, sizeof id);
  payload_field (json_string_value (json_object_get (j, "qr_payload")), "x",
                 nonce, sizeof nonce);
  json_decref (j);
  /* T, as the phone builds it from what it shows */
  snprintf (t, sizeof t, "guichet-tx-v1\n%s\n125.00\nEUR\nACME SARL\n"
            "FR7630006000011234567890189\n%s", id, nonce);
  if (NULL == (sig = sign (p->key, t)))
    goto done;
  snprintf (approve, sizeof approve, "{\"signature\":\"%s\"}", sig);
  snprintf (path, sizeof path, "/v1/transactions/%s/approve", id);
  snprintf (ts, sizeof ts, "%lld", (long long) time (NULL));
  sha256_hex (approve, hash);
  snprintf (msg, sizeof msg, "POST\n%s\n%s\n%s", path, ts, hash);
  if (NULL == (req_sig = sign (p->key, msg)))
    goto done;
  snprintf (req, sizeof req, "POST %s HTTP/1.1\r\nHost: %s\r\n"
            "Guichet-Device: %s\r\nGuichet-Timestamp: %s\r\n"
            "Guichet-Signature: %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\n\r\n%s", path, host, p->device, ts,
            req_sig, strlen (approve), approve);
  if (200 != exchange (p, req, strlen (req), &answer)
      || NULL == strstr (answer, "\"approved\""))
    goto done;
  snprintf (req, sizeof req, "GET /v1/transactions/%s HTTP/1.1\r\nHost: %s\r\n"
            "Authorization: Bearer %s\r\n\r\n", id, host, api_key);
  if (200 == exchange (p, req, strlen (req), &answer)
      && NULL != strstr (answer, "\"status\":\"approved\""))
    rc = 0;
done:
  free (sig);
  free (req_sig);
  return rc;
}

static void
record (struct phone *p, double latency)
{
  if (p->n == p->cap)
  {
    p->cap = p->cap ? 2 * p->cap : 4096;
    p->lat = realloc (p->lat, p->cap * sizeof *p->lat);
  }
  p->lat[p->n++] = latency;
}

static void *
run (void *cls)
{
  struct phone *p = cls;
  double interval = rate > 0 ? p->nphones / rate : 0;
  double next = rate > 0 ? interval * p->index / p->nphones : 0;

  while (now_s () < seconds)
  {
    double start;

    if (rate > 0)
    {
      double wait = next - now_s ();

      if (wait > 0)
      {
        struct timespec ts = { (time_t) wait, (long) ((wait - (long) wait) * 1e9) };

        nanosleep (&ts, NULL);
      }
      start = next;
      next += interval;
    }
    else
      start = now_s ();
    if (0 == one (p))
      record (p, now_s () - start);
    else
      p->errors++;
  }
  return NULL;
}

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  struct phone phones[MAX_PHONES];
  int n = 0;
  FILE *f;
  char line[1024];
  double *all;
  size_t total = 0, k = 0;
  unsigned long errors = 0;
  double elapsed;

  if (argc < 6)
  {
    fputs ("usage: tx_load HOST PORT API_KEY PHONES_FILE SECONDS [RATE]\n",
           stderr);
    return 2;
  }
  host = argv[1];
  port = atoi (argv[2]);
  api_key = argv[3];
  seconds = atof (argv[5]);
  rate = argc > 6 ? atof (argv[6]) : 0;
  if (NULL == (f = fopen (argv[4], "r")))
    return 2;
  memset (phones, 0, sizeof phones);
  while (n < MAX_PHONES && fgets (line, sizeof line, f))
  {
    char pem[512];
    FILE *k_f;

    if (3 != sscanf (line, "%79s %79s %511s", phones[n].customer,
                     phones[n].device, pem)
        || NULL == (k_f = fopen (pem, "r")))
      return 2;
    phones[n].key = PEM_read_PrivateKey (k_f, NULL, NULL, NULL);
    fclose (k_f);
    if (NULL == phones[n].key)
      return 2;
    phones[n].fd = -1;
    n++;
  }
  fclose (f);
  clock_gettime (CLOCK_MONOTONIC, &t_start);
  for (int i = 0; i < n; i++)
  {
    phones[i].index = i;
    phones[i].nphones = n;
    pthread_create (&phones[i].thread, NULL, &run, &phones[i]);
  }
  for (int i = 0; i < n; i++)
  {
    pthread_join (phones[i].thread, NULL);
    total += phones[i].n;
    errors += phones[i].errors;
  }
  elapsed = now_s ();
  all = malloc ((total + 1) * sizeof *all);
  for (int i = 0; i < n; i++)
    for (size_t j = 0; j < phones[i].n; j++)
      all[k++] = phones[i].lat[j];
  qsort (all, total, sizeof *all, &cmp);
  printf ("TX_RESULT {\"connections\": %d, \"seconds\": %.3f, \"rate\": %.1f, "
          "\"transactions\": %zu, \"errors\": %lu, \"per_second\": %.1f, "
          "\"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, "
          "\"max_ms\": %.2f}\n", n, elapsed, rate, total, errors,
          total / elapsed,
          total ? 1000 * all[total / 2] : 0, total ? 1000 * all[total * 9 / 10] : 0,
          total ? 1000 * all[total * 99 / 100] : 0,
          total ? 1000 * all[total - 1] : 0);
  return 0;
}
