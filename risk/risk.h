/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * risk.h -- device risk scoring: what a phone says about itself, where its
 * address is (GeoIP), what PostgreSQL remembers about the same device,
 * address and QR challenge, weighed by an operator's rules file into a score
 * 0-100 and a decision allow | review | deny with stable reason codes.
 *
 * The rules and the GeoIP databases are process-wide state loaded by
 * risk_reload() at start and on SIGHUP; a reload builds the new state aside
 * and swaps it under a write lock, so scorings in flight finish on the old
 * one.  Every result carries the rule-set version and the SHA-256 of its
 * canonical inputs, so a stored decision can be explained and replayed.
 * This module never talks HTTP and never decides what happens to the
 * enrolment: that is the caller's.
 */
#ifndef GUICHET_RISK_H
#define GUICHET_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/db.h"
#include "core/error.h"

#define RISK_DEVICE_KEY_LEN 65      /* uncompressed SEC1 P-256 point */
#define RISK_VERSION_LEN 24         /* "r-" + 16 hex + NUL, with room */

enum risk_decision {
  RISK_ALLOW = 0,
  RISK_REVIEW = 1,
  RISK_DENY = 2
};

/** What the phone reported (API.md "device" object).  Strings are
 *  borrowed; NULL means "not reported". */
struct risk_device {
  const char *platform;        /* "android", "ios", "web" (the web app,
                                  web/app/), ... */
  const char *os_version;      /* "14", "17.4.1" */
  const char *model;
  const char *app_version;     /* "1.0.0" */
  const char *install_id;
  bool rooted;
  bool emulator;
  bool debugger;
  bool hooking;
  /* The app did not report the flag above (a web app cannot know it):
     its rule is skipped, and an unknown "rooted" or "hooking" counts as
     possibly modified for compromised_device_on_anonymous_network. */
  bool rooted_unknown;
  bool emulator_unknown;
  bool debugger_unknown;
  bool hooking_unknown;
  const char *sim_country;     /* ISO 3166 alpha-2, e.g. "FR" */
  const char *locale;          /* BCP 47, e.g. "fr-FR" */
  const char *timezone;        /* IANA, e.g. "Europe/Paris" */
};

/** One activation to score.  Everything is borrowed for the call. */
struct risk_input {
  const char *enrolment_id;
  const char *challenge_id;
  struct risk_device device;
  const uint8_t *device_key;   /* RISK_DEVICE_KEY_LEN bytes */
  const char *phone_addr;      /* client address of the activation */
  const char *browser_addr;    /* device_challenges.browser_addr, or NULL */
  const char *residence_country; /* declared, ISO alpha-3 ("FRA"); NULL =
                                    read it from the enrolment */
};

/** A scoring.  Members are owned: release with risk_result_free(). */
struct risk_result {
  int score;                   /* 0..100 */
  enum risk_decision decision;
  int review_at;               /* threshold.review of the rules that scored
                                  it: the score a phone is told for a
                                  review (risk_result_answer) */
  json_t *reasons;             /* array of snake_case codes, rule order */
  json_t *signals;             /* object: rule code -> {"value", and when
                                  it fired "weight", "contribution",
                                  "floor", "explanation"} */
  json_t *inputs;              /* the canonical inputs (what was hashed) */
  char ruleset_version[RISK_VERSION_LEN];
  char input_hash[65];         /* SHA-256 hex of the canonical inputs */
};

/** Files a load reads.  NULL or "" for a GeoIP path means "none": the
 *  checks that need it then report geo_unavailable. */
struct risk_paths {
  const char *rules_file;
  const char *country_db;      /* GeoLite2/GeoIP2 Country */
  const char *anonymous_db;    /* GeoIP2 Anonymous IP */
};

/** Register risk/'s prepared statements (once, from main, before any
 *  connection opens). */
void
risk_register_statements (void);

/**
 * Load the rules and open the GeoIP databases named by the configuration
 * (core_cfg->geoip_country_db, ->geoip_anonymous_db, and the rules file
 * from risk_rules_path()), then swap them in.  Safe to call while other
 * threads score (SIGHUP): nothing in flight is dropped.
 * @return 0 when everything loaded; 1 when the rules loaded but a GeoIP
 *         database is not configured or cannot be opened (decisions will
 *         carry geo_unavailable; logged); -1 when the rules file is
 *         unreadable or invalid (logged with its line): the previous state,
 *         if any, stays in force.
 */
int
risk_reload (void);

/** Like risk_reload() with explicit paths; @a err gets the reason of a
 *  failure or of a degraded load (may be NULL). */
int
risk_load (const struct risk_paths *paths, char *err, size_t errlen);

/** Release the loaded state (at exit, after the workers stopped). */
void
risk_shutdown (void);

/** The rules file used by risk_reload(): $GUICHET_RISK_RULES_FILE, else
 *  the source tree's risk/rules.conf.  Static string. */
const char *
risk_rules_path (void);

/** Copy the loaded rule-set version into @a buf.
 *  @return 0, or -1 if nothing is loaded. */
int
risk_ruleset_version (char *buf, size_t len);

/**
 * A threshold of the rules in force: "review", "deny" (101 when no score
 * alone denies) or "four_eyes" (a review whose score reached it needs two
 * approvers in the back-office).
 * @return the value, or -1 for another name or when no rules are loaded.
 */
int
risk_threshold (const char *name);

/**
 * May a passkey of authenticator model @a aaguid be registered?  The
 * rules' passkey.aaguid_deny and passkey.aaguid_allow decide (by default
 * both are empty: every model); with no rules loaded, every model.
 */
bool
risk_passkey_aaguid_allowed (const uint8_t aaguid[16]);

/**
 * Score one activation: one database round trip for the history, then
 * GeoIP and the rules.  Only reads; call it before the activation
 * transaction, or use risk_score_device_tx() inside one.
 * @param[out] out  filled on CORE_OK (release with risk_result_free);
 *             zeroed otherwise
 * @return CORE_OK; CORE_ERR_INVALID_FIELD if enrolment_id, challenge_id or
 *         device_key is missing; CORE_ERR_DATABASE_UNAVAILABLE if the
 *         history could not be read; CORE_ERR_INTERNAL if no rules are
 *         loaded or memory ran out.
 */
enum core_err
risk_score_device (struct core_db *db, const struct risk_input *in,
                   struct risk_result *out);

/**
 * risk_score_device() for a transaction body: database failures come back
 * as core_db statuses so core_db_tx can retry a soft one.
 * @return CORE_DB_ONE_ROW with @a out filled; CORE_DB_SOFT_ERROR or
 *         CORE_DB_HARD_ERROR (also for bad input or no rules loaded) with
 *         @a out zeroed.
 */
enum core_db_status
risk_score_device_tx (struct core_db *db, const struct risk_input *in,
                      struct risk_result *out);

/** @return "allow", "review" or "deny". */
const char *
risk_decision_name (enum risk_decision d);

/**
 * The whole result for storage and the back-office: {"score", "decision",
 * "reasons", "signals", "ruleset_version", "input_hash"}.
 * @return a new reference, or NULL on allocation failure.
 */
json_t *
risk_result_json (const struct risk_result *r);

/**
 * Who, besides the back-office (which reads every reason), may be told a
 * reason code.  Each audience is also told what the next one is: an
 * advisor talks to the applicant, who already knows their own phone.
 */
enum risk_audience {
  RISK_TOLD_STAFF = 0,         /* reviewers only: the bank's lists, other
                                  enrolments, velocity */
  RISK_TOLD_ADVISOR = 1,       /* also an advisor following the enrolment:
                                  the phone's connection and countries */
  RISK_TOLD_APPLICANT = 2      /* also the phone: what it says about itself
                                  (rooted, emulator, an outdated app...) */
};

/**
 * May @a to be told reason @a code?  The one classification of every
 * rule's reason, for the phone's answer and the advisor's view.
 * @return true for a known code told to @a to; false for any other code
 *         (an unknown one, or "manual_check" itself).
 */
bool
risk_reason_told (const char *code, enum risk_audience to);

/**
 * The short form for the phone's answer (API.md): {"score", "decision",
 * "reasons"}, as the applicant may be told it -- no signals, which would
 * teach a fraudster what we see, and only what cannot tip a fraud ring
 * off (docs/risk.md, "What the phone is told"):
 * - "reasons": those told to RISK_TOLD_APPLICANT, in rule order; any other
 *   becomes one "manual_check" at the end when the decision is review or
 *   deny.  On an allow the others are left out: nobody checks anything,
 *   and a "manual_check" there would say that this phone, address or
 *   install id was seen before.
 * - "score": the decision's alone -- 0 for allow, the review threshold for
 *   review, 100 for deny -- so that it is consistent with the decision and
 *   says nothing of the weights, the thresholds crossed or the hidden
 *   reasons.  The stored decision keeps the real score.
 * @return a new reference, or NULL on allocation failure.
 */
json_t *
risk_result_answer (const struct risk_result *r);

/** Release what @a r owns (not @a r itself) and zero it. NULL is fine. */
void
risk_result_free (struct risk_result *r);

/**
 * Store a decision in risk_decisions (call it in the activation
 * transaction, after the device row exists if there is one).
 * @param device_id  the device row, or NULL when none was created
 * @param[out] id  the new risk_decisions.id (may be NULL)
 * @return ONE_ROW; SOFT_ERROR / HARD_ERROR as core_db_exec.
 */
enum core_db_status
risk_record (struct core_db *db, const struct risk_input *in,
             const char *device_id, const struct risk_result *r,
             int64_t *id);

enum risk_block_kind {
  RISK_BLOCK_DEVICE_KEY,       /* value: 130 hex digits of the SEC1 key */
  RISK_BLOCK_INSTALL_ID,
  RISK_BLOCK_ADDRESS           /* an IPv4 or IPv6 address */
};

/** @return "device_key", "install_id" or "address". */
const char *
risk_block_kind_name (enum risk_block_kind kind);

/**
 * Put a value on the blocklist (back-office).  Device keys are stored as
 * lowercase hex, addresses in canonical text form.
 * @return ONE_ROW when added, NO_ROW when it was already there,
 *         HARD_ERROR for a malformed value (logged) or a database error,
 *         SOFT_ERROR to retry.
 */
enum core_db_status
risk_blocklist_add (struct core_db *db, enum risk_block_kind kind,
                    const char *value, const char *reason, const char *by);

/**
 * Blocklist the device key and install id of device row @a device_id, and
 * its address too when @a with_address (a reviewer's reject).
 * @return ONE_ROW when at least one value was added, NO_ROW when the device
 *         does not exist or all were listed already, SOFT/HARD_ERROR.
 */
enum core_db_status
risk_blocklist_device (struct core_db *db, const char *device_id,
                       bool with_address, const char *reason,
                       const char *by);

#endif
