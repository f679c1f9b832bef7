/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * log.h -- one-line logging to stderr.
 *
 * Each line carries a timestamp, level, the current request id (a
 * thread-local set by server/ for the duration of a request) and, for our
 * own bugs, file:line.  Never log a PIN, OTP, seed, key, token, MRZ line or
 * full document number: log identifiers and outcomes only.
 */
#ifndef GUICHET_CORE_LOG_H
#define GUICHET_CORE_LOG_H

enum core_log_level {
  CORE_LOG_DEBUG = 0,
  CORE_LOG_INFO,
  CORE_LOG_WARN,
  CORE_LOG_ERROR
};

/** Set the minimum level written (default INFO). */
void
core_log_set_level (enum core_log_level level);

/** Parse "debug"|"info"|"warn"|"error". @return 0 on success, -1 if unknown. */
int
core_log_parse_level (const char *s, enum core_log_level *out);

/** Set (or clear with NULL) this thread's request id; the string is copied. */
void
core_log_set_request_id (const char *rid);

/** @return this thread's request id or "-" (valid until the next set). */
const char *
core_log_request_id (void);

void
core_log_at (enum core_log_level level, const char *file, int line,
             const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

#define LOG_DEBUG(...) core_log_at (CORE_LOG_DEBUG, NULL, 0, __VA_ARGS__)
#define LOG_INFO(...)  core_log_at (CORE_LOG_INFO, NULL, 0, __VA_ARGS__)
#define LOG_WARN(...)  core_log_at (CORE_LOG_WARN, NULL, 0, __VA_ARGS__)
/** Our bug or an operational failure: logged with file:line. */
#define LOG_BUG(...)   core_log_at (CORE_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_ERROR(...) core_log_at (CORE_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif
