/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * log.c -- one line per event on stderr:
 *   2026-11-23T03:12:06.123Z INFO rid=<request id or -> message [(file.c:12)]
 *
 * Each line is formatted in a local buffer and written with a single fputs,
 * so lines from concurrent threads never interleave.  Control characters in
 * the message are replaced, so a client-supplied string cannot forge a log
 * line.  This file must never decide what is secret: callers must not pass
 * PINs, OTPs, seeds, keys or MRZ lines in the first place.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_LINE_MAX 2048
#define LOG_RID_MAX 64

static _Atomic int min_level = CORE_LOG_INFO;
static __thread char request_id[LOG_RID_MAX];

static const char *const level_names[] = {
  [CORE_LOG_DEBUG] = "DEBUG",
  [CORE_LOG_INFO] = "INFO",
  [CORE_LOG_WARN] = "WARN",
  [CORE_LOG_ERROR] = "ERROR",
};

void
core_log_set_level (enum core_log_level level)
{
  atomic_store (&min_level, (int) level);
}

int
core_log_parse_level (const char *s, enum core_log_level *out)
{
  static const char *const names[] = { "debug", "info", "warn", "error" };

  if (s == NULL)
    return -1;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp (s, names[i]) == 0)
      {
        *out = (enum core_log_level) i;
        return 0;
      }
  return -1;
}

/* Copy @a src into @a dst (size @a dstlen), replacing control bytes. */
static void
copy_printable (char *dst, size_t dstlen, const char *src)
{
  size_t i = 0;

  for (; src[i] != '\0' && i + 1 < dstlen; i++)
    {
      unsigned char c = (unsigned char) src[i];
      dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
    }
  dst[i] = '\0';
}

void
core_log_set_request_id (const char *rid)
{
  if (rid == NULL)
    request_id[0] = '\0';
  else
    copy_printable (request_id, sizeof request_id, rid);
}

const char *
core_log_request_id (void)
{
  return request_id[0] != '\0' ? request_id : "-";
}

/* Replace control characters in place (tabs too: one event, one line) and
 * drop trailing blanks (libpq messages end with a newline). */
static void
strip_controls (char *s)
{
  char *end = s;

  for (; *s != '\0'; s++)
    {
      if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
        *s = ' ';
      if (*s != ' ')
        end = s + 1;
    }
  *end = '\0';
}

static size_t
format_time (char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  return (size_t) snprintf (buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                            tm.tm_hour, tm.tm_min, tm.tm_sec,
                            ts.tv_nsec / 1000000L);
}

void
core_log_at (enum core_log_level level, const char *file, int line,
             const char *fmt, ...)
{
  char msg[LOG_LINE_MAX];
  char out[LOG_LINE_MAX + 256];
  char stamp[96];
  const char *base;
  va_list ap;
  int n;

  if ((int) level < atomic_load (&min_level))
    return;
  if ((unsigned int) level > CORE_LOG_ERROR)
    level = CORE_LOG_ERROR;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  strip_controls (msg);
  format_time (stamp, sizeof stamp);
  if (file != NULL)
    {
      base = strrchr (file, '/');
      base = base != NULL ? base + 1 : file;
      n = snprintf (out, sizeof out, "%s %s rid=%s %s (%s:%d)\n", stamp,
                    level_names[level], core_log_request_id (), msg, base,
                    line);
    }
  else
    n = snprintf (out, sizeof out, "%s %s rid=%s %s\n", stamp,
                  level_names[level], core_log_request_id (), msg);
  if (n >= (int) sizeof out)
    out[sizeof out - 2] = '\n';
  fputs (out, stderr);
}
