/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * phone.h -- a phone number as people type it, to E.164.
 */
#ifndef GUICHET_ENROL_PHONE_H
#define GUICHET_ENROL_PHONE_H

#include <stddef.h>

#define ENROL_PHONE_MAX 20      /* "+" and at most 15 digits, and a NUL */

/**
 * Read @a raw as the applicant typed it -- international ("+33 6 12 34 56
 * 78", "0033 6…", "+33 (0)6…") or national for @a residence ("06 12 34 56
 * 78" with residence FRA) -- into E.164 ("+33612345678").  Spaces, dots,
 * hyphens, slashes and brackets are separators.  A national number needs
 * a residence country in the table (phone.c: EU/EEA, UK, CH, US, CA and a
 * few neighbours); its trunk prefix (0 in France, 06 in Hungary, 1 in the
 * US) goes.  Only the shape is checked: a plus, no leading zero, 8 to 15
 * digits.
 * @param residence  ISO 3166-1 alpha-3, may be NULL
 * @param[out] out   the E.164 number, "" on failure
 * @return 0, or -1 (not a phone number, or national with no known country)
 */
int
enrol_phone_e164 (const char *raw, const char *residence,
                  char out[ENROL_PHONE_MAX]);

#endif
