/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * mime.c -- a message as mail systems expect it (RFC 5322, MIME).
 *
 * Headers: Date, From, To, Subject, Message-ID (the outbox row's, the same
 * on every attempt), MIME-Version, Auto-Submitted: auto-generated (RFC
 * 3834: no vacation replies to us), Content-Language.  The body is a
 * multipart/alternative of the plain text and a simple HTML rendering of
 * the same text (paragraphs, a link on a line of its own made clickable,
 * nothing else), both UTF-8 and quoted-printable, so every line stays
 * short and 7-bit whatever relay carries it.  Header values are checked or
 * encoded so that nothing a person typed (an e-mail address, a payee name)
 * can add a header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "core/crypto.h"
#include "notify/notify_int.h"

#define QP_MAX 76

bool
notify_address_ok (const char *a)
{
  const char *at;
  size_t n;

  if (NULL == a || (n = strlen (a)) < 3 || n > 254)
    return false;
  for (const unsigned char *p = (const unsigned char *) a; *p; p++)
    if (*p <= ' ' || *p >= 127 || NULL != strchr ("<>,;:\"()[]\\", *p))
      return false;
  at = strchr (a, '@');
  return NULL != at && at != a && '\0' != at[1] && NULL == strchr (at + 1,
                                                                   '@');
}

/* ------------------------------------------------------------ encodings */

/* One input line (no line end) as quoted-printable lines, CRLF ended. */
static void
qp_line (FILE *f, const unsigned char *s, size_t n)
{
  size_t col = 0;

  for (size_t i = 0; i < n; i++)
  {
    unsigned char c = s[i];
    bool last = i + 1 == n;
    bool plain = (c >= 33 && c <= 126 && '=' != c && ! (0 == col && '.' == c))
                 || ((' ' == c || '\t' == c) && ! last);
    size_t w = plain ? 1 : 3;

    if (col + w > QP_MAX - 1)          /* room for the soft break '=' */
    {
      fputs ("=\r\n", f);
      col = 0;
      if ('.' == c)
        plain = false, w = 3;
    }
    if (plain)
      fputc (c, f);
    else
      fprintf (f, "=%02X", c);
    col += w;
  }
  fputs ("\r\n", f);
}

static void
qp_write (FILE *f, const char *s)
{
  const char *p = s;

  while ('\0' != *p)
  {
    size_t n = strcspn (p, "\n");

    qp_line (f, (const unsigned char *) p, n);
    p += n;
    if ('\n' == *p)
      p++;
  }
}

char *
notify_qp_encode (const char *s)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  if (NULL == f)
    return NULL;
  qp_write (f, s);
  fclose (f);
  return buf;
}

/* The subject as is when it is printable ASCII, else RFC 2047 encoded
   words of at most 45 bytes of UTF-8 each, cut between characters.  Any
   control character becomes a space first. */
static void
write_subject (FILE *f, const char *subject)
{
  size_t n = strlen (subject);
  char *s = strdup (subject);
  bool ascii = true;
  size_t i = 0;

  if (NULL == s)
    return;
  for (size_t k = 0; k < n; k++)
  {
    unsigned char c = (unsigned char) s[k];

    if (c < ' ' || 127 == c)
      s[k] = ' ';
    ascii = ascii && c < 127;
  }
  fputs ("Subject: ", f);
  if (ascii)
    fputs (s, f);
  while (! ascii && i < n)
  {
    unsigned char out[80];
    size_t take = n - i < 45 ? n - i : 45;

    while (i + take < n && 0x80 == ((unsigned char) s[i + take] & 0xC0))
      take--;                          /* never split a character */
    EVP_EncodeBlock (out, (const unsigned char *) s + i, (int) take);
    fprintf (f, "%s=?UTF-8?B?%s?=", 0 == i ? "" : "\r\n ", out);
    i += take;
  }
  fputs ("\r\n", f);
  free (s);
}

static void
write_date (FILE *f, long long t)
{
  static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
                                      "Fri", "Sat" };
  static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
                                        "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec" };
  time_t tt = (time_t) t;
  struct tm tm;

  gmtime_r (&tt, &tm);
  fprintf (f, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
           days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ------------------------------------------------------------ HTML */

static void
html_escape (FILE *f, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    switch (s[i])
    {
    case '&': fputs ("&amp;", f); break;
    case '<': fputs ("&lt;", f); break;
    case '>': fputs ("&gt;", f); break;
    case '"': fputs ("&quot;", f); break;
    case '\'': fputs ("&#39;", f); break;
    default: fputc (s[i], f);
    }
}

static bool
is_link (const char *s, size_t n)
{
  if (! (n > 8 && 0 == strncmp (s, "https://", 8))
      && ! (n > 7 && 0 == strncmp (s, "http://", 7)))
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char) s[i] <= ' ')
      return false;
  return true;
}

/* One line of a paragraph: a link alone on its line is made clickable,
   the code line is set in bold. */
static void
html_line (FILE *f, const char *s, size_t n)
{
  size_t cl = strlen (NOTIFY_CODE_LINE);

  if (is_link (s, n))
  {
    fputs ("<a href=\"", f);
    html_escape (f, s, n);
    fputs ("\">", f);
    html_escape (f, s, n);
    fputs ("</a>", f);
  }
  else if (n > cl && 0 == strncmp (s, NOTIFY_CODE_LINE, cl))
  {
    fputs ("<strong>", f);
    html_escape (f, s, n);
    fputs ("</strong>", f);
  }
  else
    html_escape (f, s, n);
}

/* @return malloc'd HTML of the text: blank lines part paragraphs. */
static char *
html_of (const char *lang, const struct notify_text *t)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  const char *p = t->body;
  bool open = false;

  if (NULL == f)
    return NULL;
  fprintf (f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
           "<meta charset=\"utf-8\">\n<title>", lang);
  for (const char *c = t->subject; '\0' != *c; c++)
    if ((unsigned char) *c < ' ' || 127 == *c)
      fputc (' ', f);                  /* one line, as in the header */
    else
      html_escape (f, c, 1);
  fputs ("</title>\n</head>\n<body style=\"font-family: sans-serif; "
         "line-height: 1.5\">\n", f);
  while ('\0' != *p)
  {
    size_t n = strcspn (p, "\n");

    if (0 == n && open)
    {
      fputs ("</p>\n", f);
      open = false;
    }
    else if (0 != n)
    {
      fputs (open ? "<br>\n" : "<p>", f);
      open = true;
      html_line (f, p, n);
    }
    p += n;
    if ('\n' == *p)
      p++;
  }
  fputs (open ? "</p>\n</body>\n</html>\n" : "</body>\n</html>\n", f);
  fclose (f);
  return buf;
}

/* ------------------------------------------------------------ message */

char *
notify_mime_build (const struct notify_mail *m)
{
  char *html = html_of (m->lang, m->text);
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  char boundary[80];

  if (NULL == html || NULL == (f = open_memstream (&buf, &len)))
  {
    free (html);
    return NULL;
  }
  /* the Message-ID is unique, so is a boundary made from it; QP text never
     holds "=_" followed by it unencoded ('=' is always encoded) */
  snprintf (boundary, sizeof boundary, "=_guichet_%.40s", m->message_id + 1);
  boundary[strcspn (boundary, "@>")] = '\0';
  write_date (f, m->date);
  fprintf (f, "From: %s\r\nTo: %s\r\n", m->from, m->to);
  write_subject (f, m->text->subject);
  fprintf (f, "Message-ID: %s\r\n"
           "MIME-Version: 1.0\r\n"
           "Auto-Submitted: auto-generated\r\n"
           "Content-Language: %s\r\n"
           "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
           "\r\n"
           "--%s\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
           m->message_id, m->lang, boundary, boundary);
  qp_write (f, m->text->body);
  fprintf (f, "--%s\r\n"
           "Content-Type: text/html; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
  qp_write (f, html);
  fprintf (f, "--%s--\r\n", boundary);
  fclose (f);
  core_free_secret (html, strlen (html));
  return buf;
}
