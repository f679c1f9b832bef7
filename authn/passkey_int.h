/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_int.h -- internal to authn/'s passkey module: the ceremony
 * checks (passkey_ceremony.c, pure functions over bytes, unit-tested with
 * fixtures), the CBOR and authenticator-data parsers (passkey_cbor.c),
 * the credential JSON (passkey_json.c) and the SQL (passkey_db.c).
 *
 * Every check answers an enum pk_check whose name is the stable reason
 * given to the client (registration, 422) or written to authn_audit
 * (sign-in, where the client only hears "authentication failed").
 */
#ifndef GUICHET_AUTHN_PASSKEY_INT_H
#define GUICHET_AUTHN_PASSKEY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authn/passkey.h"
#include "core/crypto.h"
#include "core/db.h"

#define PK_CHALLENGE_LEN 32
#define PK_MAX_CRED_ID 1023
#define PK_MAX_PUBKEY 1024
#define PK_AAGUID_LEN 16

/* COSE algorithms we accept (passkeys.algorithm). */
#define PK_ALG_ES256 (-7)
#define PK_ALG_EDDSA (-8)
#define PK_ALG_RS256 (-257)

/* Authenticator data flags (WebAuthn §6.1). */
#define PK_FLAG_UP 0x01
#define PK_FLAG_UV 0x04
#define PK_FLAG_BE 0x08
#define PK_FLAG_BS 0x10
#define PK_FLAG_AT 0x40
#define PK_FLAG_ED 0x80

enum pk_check {
  PK_OK = 0,
  PK_MALFORMED,                /* structure: a 400, never counted */
  PK_TYPE_MISMATCH,            /* clientDataJSON.type */
  PK_CHALLENGE_MISMATCH,       /* clientDataJSON.challenge */
  PK_ORIGIN_MISMATCH,          /* clientDataJSON.origin not configured */
  PK_CROSS_ORIGIN,             /* clientDataJSON.crossOrigin true */
  PK_RP_ID_MISMATCH,           /* rpIdHash */
  PK_UP_MISSING,
  PK_UV_MISSING,
  PK_BACKUP_STATE_INVALID,     /* BS without BE, or BE changed */
  PK_SIGNATURE_INVALID,
  PK_COUNTER_REGRESSED,
  PK_USER_HANDLE_MISMATCH,
  PK_ALGORITHM_UNSUPPORTED,    /* registration: not ES256/EdDSA/RS256 */
  PK_PUBLIC_KEY_INVALID,
  PK_ATTESTATION_UNSUPPORTED,  /* a format other than none/packed */
  PK_ATTESTATION_INVALID,      /* statement does not verify */
  PK_AAGUID_DENIED,            /* risk rules */
  PK_CHECK_COUNT
};

/** @return the stable snake_case name of @a c ("origin_mismatch"). */
const char *
pk_check_name (enum pk_check c);

/* ----------------------------------------------------------- passkey.c */

/** The configured lockout limit (5 when main set nothing), as verify.c's. */
unsigned int
pk_lockout_limit (void);

struct pk_db_challenge;

/**
 * A loaded challenge is usable by this caller: made for @a purpose
 * ("register" | "authenticate"), through @a relying_party and for
 * @a enrolment_id (NULL: none).
 * @return CORE_OK; CORE_ERR_NOT_FOUND (another caller's or purpose: as
 *         unknown); CORE_ERR_CONFLICT (used); CORE_ERR_CHALLENGE_EXPIRED
 */
enum core_err
pk_challenge_usable (const struct pk_db_challenge *ch, const char *purpose,
                     const char *relying_party, const char *enrolment_id);

/* ------------------------------------------------------ passkey_cbor.c */

/**
 * Measure the CBOR data item at the start of @a buf without building it:
 * definite lengths only, no tags, nesting at most @a max_depth, every
 * length inside @a len.  Used before any byte reaches libcbor or libfido2.
 * @param[out] item_len  bytes of the first item
 * @return 0, or -1 when malformed or outside those limits
 */
int
pk_cbor_measure (const uint8_t *buf, size_t len, unsigned int max_depth,
                 size_t *item_len);

/** What pk_authdata_parse found (pointers into the parsed buffer). */
struct pk_authdata {
  const uint8_t *rp_id_hash;   /* 32 bytes */
  uint8_t flags;
  uint32_t sign_count;
  /* attested credential data (AT), registration only */
  uint8_t aaguid[PK_AAGUID_LEN];
  const uint8_t *cred_id;
  size_t cred_id_len;
  const uint8_t *cose_key;
  size_t cose_key_len;
  int alg;                     /* COSE_Key label 3 */
  /* extensions (ED): what libfido2 will have seen, to mirror */
  bool ext_hmac_secret;
  bool ext_cred_blob;
  int ext_cred_protect;        /* 0: absent */
  int ext_min_pin_length;      /* 0: absent */
};

/**
 * Parse authenticator data: rpIdHash, flags, counter, the attested
 * credential data when @a attested (AT required; refused otherwise), the
 * extensions map when ED, and nothing after them.
 * @return PK_OK, or PK_MALFORMED
 */
enum pk_check
pk_authdata_parse (const uint8_t *ad, size_t len, bool attested,
                   struct pk_authdata *out);

/** An attestation object's members (pointers into its decoded tree;
 *  release with pk_attobj_clear). */
struct pk_attobj {
  void *root;                  /* the cbor_item_t tree (owned) */
  char fmt[16];                /* "none", "packed", ... */
  unsigned char *att_stmt;     /* the attStmt map re-encoded (owned) */
  size_t att_stmt_len;
  const uint8_t *auth_data;
  size_t auth_data_len;
  /* packed: */
  int stmt_alg;                /* 0 when absent */
  const uint8_t *sig;
  size_t sig_len;
  const uint8_t *x5c0;         /* the attestation certificate, DER */
  size_t x5c0_len;
  size_t n_x5c;
  size_t n_stmt_keys;
};

/**
 * Decode an attestation object {fmt, attStmt, authData} with libcbor;
 * for `packed`, its statement's alg, sig and x5c.
 * @return PK_OK, PK_MALFORMED
 */
enum pk_check
pk_attobj_parse (const uint8_t *ao, size_t len, struct pk_attobj *out);

/** Release what pk_attobj_parse() made (also after a failure). */
void
pk_attobj_clear (struct pk_attobj *att);

/* ------------------------------------------------- passkey_ceremony.c */

/** A credential public key in libfido2's form. */
struct pk_pubkey {
  int alg;
  uint8_t raw[PK_MAX_PUBKEY];
  size_t raw_len;
};

/**
 * The client data: JSON (duplicates refused), `type` equal to @a type,
 * `challenge` the base64url of @a challenge, `origin` one of @a rp's,
 * `crossOrigin` not true.
 */
enum pk_check
pk_client_data_check (const uint8_t *cdj, size_t len, const char *type,
                      const uint8_t challenge[PK_CHALLENGE_LEN],
                      const struct authn_passkey_rp *rp);

/** rpIdHash = SHA-256(rp id), UP and UV set, BS only with BE. */
enum pk_check
pk_authdata_check (const struct pk_authdata *ad,
                   const struct authn_passkey_rp *rp);

/** What a verified attestation says. */
struct pk_attested {
  struct pk_pubkey key;
  const char *attestation_type;  /* "none" | "self" | "basic" */
};

/**
 * Verify an attestation: `none` (empty statement: the authenticator data
 * alone, checked by pk_authdata_check), `packed` self (alg equal to the
 * key's; fido_cred_verify_self) or with a certificate (version 3, not a
 * CA, AAGUID extension equal to the authenticator data's when present;
 * fido_cred_verify).  libfido2 also decodes the credential key, which
 * must be ES256, EdDSA or RS256 and convert to a usable key.
 * @param cdh  SHA-256 of clientDataJSON
 */
enum pk_check
pk_attestation_verify (const struct pk_attobj *att,
                       const struct pk_authdata *ad,
                       const uint8_t cdh[CORE_SHA256_LEN],
                       const struct authn_passkey_rp *rp,
                       struct pk_attested *out);

/**
 * Verify an assertion's signature over authData || SHA-256(clientDataJSON)
 * with libfido2 (UP and UV required, rp id hash checked again).
 */
enum pk_check
pk_assertion_verify (const uint8_t *ad, size_t ad_len,
                     const struct pk_authdata *parsed,
                     const uint8_t cdh[CORE_SHA256_LEN],
                     const uint8_t *sig, size_t sig_len,
                     const struct pk_pubkey *key,
                     const struct authn_passkey_rp *rp);

/** The counter rule: @a seen > @a stored, or both 0 (no counter). */
enum pk_check
pk_counter_check (uint32_t stored, uint32_t seen);

/* ----------------------------------------------------- passkey_json.c */

/** A RegistrationResponseJSON, decoded (malloc'd members). */
struct pk_reg_json {
  uint8_t *raw_id;
  long raw_id_len;
  uint8_t *cdj;
  long cdj_len;
  uint8_t *att_obj;
  long att_obj_len;
  json_t *transports;          /* known values only, new reference */
};

/** An AuthenticationResponseJSON, decoded. */
struct pk_auth_json {
  uint8_t *raw_id;
  long raw_id_len;
  uint8_t *cdj;
  long cdj_len;
  uint8_t *auth_data;
  long auth_data_len;
  uint8_t *sig;
  long sig_len;
  uint8_t *user_handle;        /* NULL when absent */
  long user_handle_len;
};

/** @return NULL or the bad field ("credential.response.clientDataJSON"). */
const char *
pk_reg_json_parse (json_t *credential, struct pk_reg_json *out);

void
pk_reg_json_clear (struct pk_reg_json *j);

const char *
pk_auth_json_parse (json_t *credential, struct pk_auth_json *out);

void
pk_auth_json_clear (struct pk_auth_json *j);

/* ------------------------------------------------------- passkey_db.c */

/** A challenge as loaded. */
struct pk_db_challenge {
  char purpose[16];
  uint8_t challenge[PK_CHALLENGE_LEN];
  char customer_id[AUTHN_ID_MAX];      /* "" when NULL */
  char enrolment_id[AUTHN_ID_MAX];     /* "" when NULL */
  char relying_party[128];
  bool used;
  bool expired;
};

/** A passkey (and its attempt's customer) as loaded for a sign-in. */
struct pk_db_signin {
  struct pk_db_challenge ch;
  bool found;                          /* the credential id is registered */
  char passkey_id[AUTHN_ID_MAX];
  char owner[AUTHN_ID_MAX];            /* "" while pending */
  char status[16];
  struct pk_pubkey key;
  uint32_t sign_count;
  bool backup_eligible;
  uint8_t user_handle[64];
  size_t user_handle_len;
  /* the customer of the attempt: the challenge's, else the owner */
  char customer_id[AUTHN_ID_MAX];      /* "" when none */
  bool customer_found;
  long failed_attempts;
  bool locked;
};

/** "\\x" + hex of @a data, a bytea text parameter. @return malloc'd */
char *
pk_db_bytea (const uint8_t *data, size_t len);

/** @return ONE_ROW, NO_ROW (unknown id), errors */
enum core_db_status
pk_db_challenge_load (struct core_db *db, const char *id,
                      struct pk_db_challenge *out);

/** Spend a challenge whatever happens next.
 *  @return ONE_ROW (spent now), NO_ROW (spent already or expired), errors */
enum core_db_status
pk_db_challenge_spend (struct core_db *db, const char *id);

/** The challenge, the passkey with @a cred_id, and the attempt's
 *  customer, in one query.  @return ONE_ROW, NO_ROW (unknown challenge) */
enum core_db_status
pk_db_signin_load (struct core_db *db, const char *challenge_id,
                   const uint8_t *cred_id, size_t cred_id_len,
                   struct pk_db_signin *out);

/** What the success statement did. */
struct pk_db_accepted {
  bool challenge_spent;        /* this statement spent the challenge */
  bool counter_advanced;       /* the passkey was active and the counter
                                  moved forward */
  bool customer_unlocked;      /* the customer was not locked: accepted */
};

/** The accepting statement (see passkey_db.c). */
enum core_db_status
pk_db_accept (struct core_db *db, const char *challenge_id,
              const char *passkey_id, uint32_t sign_count, bool backed_up,
              unsigned int limit, const struct authn_passkey_who *who,
              struct pk_db_accepted *out);

/** Flag an active passkey for review. @return ONE_ROW, NO_ROW, errors */
enum core_db_status
pk_db_flag (struct core_db *db, const char *passkey_id, const char *reason);

/** Sign-in options: the customer's lock state and active passkeys
 *  (JSON array of {"id": hex, "transports": [...]}), with the challenge
 *  inserted in the same statement. */
enum core_db_status
pk_db_signin_options (struct core_db *db, const char *challenge_id,
                      const uint8_t challenge[PK_CHALLENGE_LEN],
                      const char *customer_id, const char *relying_party,
                      unsigned int limit, bool *locked, json_t **creds);

/** Registration options: the customer's registered credential ids
 *  (JSON array as above), the challenge inserted in the same statement. */
enum core_db_status
pk_db_register_options (struct core_db *db, const char *challenge_id,
                        const uint8_t challenge[PK_CHALLENGE_LEN],
                        const char *customer_id, const char *enrolment_id,
                        const char *relying_party, json_t **creds);

/** A passkey to insert (all borrowed). */
struct pk_db_new {
  const char *challenge_id;    /* spent by the same statement */
  const char *id;
  const char *customer_id;     /* NULL while pending */
  const char *enrolment_id;    /* or NULL */
  const uint8_t *cred_id;
  size_t cred_id_len;
  const uint8_t *user_handle;
  size_t user_handle_len;
  const uint8_t *cose_key;
  size_t cose_key_len;
  const struct pk_pubkey *key;
  uint32_t sign_count;
  const char *aaguid;          /* 8-4-4-4-12 hex */
  const char *format;
  const char *attestation_type;
  bool backup_eligible;
  bool backed_up;
  const char *transports;      /* a text[] literal: {usb,internal} */
  const char *status;          /* "active" | "pending" */
  const char *registered_by;
};

/** Spend the challenge and insert.  @return ONE_ROW, NO_ROW (challenge
 *  spent or expired, or the credential id is taken), errors */
enum core_db_status
pk_db_insert (struct core_db *db, const struct pk_db_new *n);

/** @return ONE_ROW if a passkey has this credential id, NO_ROW, errors */
enum core_db_status
pk_db_credential_exists (struct core_db *db, const uint8_t *cred_id,
                         size_t len);

/** The back-office's JSON array of a customer's passkeys. */
enum core_db_status
pk_db_admin_list (struct core_db *db, const char *customer_id, json_t **out);

/** Revoke an active or flagged passkey.  @a was: the status it had.
 *  @return ONE_ROW, NO_ROW (unknown, pending or revoked), errors */
enum core_db_status
pk_db_revoke (struct core_db *db, const char *passkey_id, const char *reason,
              const char *actor, char customer_id[AUTHN_ID_MAX],
              char was[16]);

/** @return ONE_ROW with its status, NO_ROW (unknown), errors */
enum core_db_status
pk_db_status (struct core_db *db, const char *passkey_id, char status[16]);

#endif
