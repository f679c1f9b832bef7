/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * enrol_db.h -- internal to enrol/: statement names live in enrol_db.c.
 */
#ifndef GUICHET_ENROL_DB_H
#define GUICHET_ENROL_DB_H

#include "core/db.h"
#include "enrol/enrol.h"

#include <stdint.h>

/** Open challenge @a cid's sealed secret (hex of the envelope). @return 0/-1 */
int
enrol_challenge_open_secret (const char *cid, const char *sealed_hex,
                             uint8_t secret[16]);

#endif
