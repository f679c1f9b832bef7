/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens.h -- internal to enrol/: the identifiers of people the enrolment
 * table keeps for duplicate look-ups, as HMAC-SHA256 tokens under the
 * keyring's token keys (core/crypto.h), never as unkeyed hashes.
 *
 *   doc token       HMAC(k, "guichet-doc-v1" 0x00 || SHA-256("STATE|NUMBER"))
 *   identity token  HMAC(k, "guichet-identity-v1" 0x00 ||
 *                        form(surname) "|" form(given names) "|" birth date)
 *
 * where form() is enrol_names_key_form.  The inner SHA-256 of the document
 * is what rows written before tokenisation held: wrapping it gives exactly
 * the token a new enrolment with the same document computes.  A token is
 * stored with the id of the key that made it; look-ups compute the token
 * under every token key so rows made under an older key still match.
 */
#ifndef GUICHET_ENROL_TOKENS_H
#define GUICHET_ENROL_TOKENS_H

#include <stdint.h>
#include "enrol/enrol.h"

/* "{" + up to 15 tokens of 64 hex digits, comma-separated, + "}" */
#define ENROL_TOKENS_LIST_MAX (16 * 65 + 3)

struct enrol_tokens {
  char key_id[65];                    /* the current token key */
  char current[65];                   /* the token under it */
  char all[ENROL_TOKENS_LIST_MAX];    /* under every key: a text[] literal */
};

/**
 * Tokens of a document (issuing state and number as read from the MRZ).
 * @return 0, or -1 (no token key loaded: out->current is "")
 */
int
enrol_tokens_doc (const char *state, const char *number,
                  struct enrol_tokens *out);

/**
 * Tokens of an identity: declared surname, given names and birth date.
 * @return 0, or -1 (no token key loaded, or a name too long)
 */
int
enrol_tokens_identity (const char *surname, const char *given_names,
                       const char *birth_date, struct enrol_tokens *out);

/**
 * The document token under token key @a key of a pre-tokenisation doc_key
 * (64 hex digits of SHA-256("STATE|NUMBER")).
 * @return 0, or -1 (bad hex, no such key)
 */
int
enrol_tokens_doc_wrap (size_t key, const char *legacy_hex, char out[65]);

#endif
