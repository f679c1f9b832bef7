/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * risk_int.h -- risk/'s insides, shared by its files and the unit tests:
 * the rule set as a plain struct, the facts a scoring weighs (device,
 * GeoIP, history), and the pure evaluation that turns one into a result.
 *
 * The split is deliberate: risk_evaluate() touches neither the database nor
 * the GeoIP files nor any global, so every rule and the score arithmetic
 * can be tested with a filled struct, and a stored decision can be replayed
 * from its inputs.  Nothing here is for other modules.
 */
#ifndef GUICHET_RISK_INT_H
#define GUICHET_RISK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <maxminddb.h>

#include "risk/risk.h"

/* ------------------------------------------------------------- rules */

/* Every rule, in the order its reason is reported.  The codes are stable:
 * they are stored with decisions and shown to reviewers. */
enum risk_rule {
  RISK_R_BLOCKLISTED_DEVICE_KEY,
  RISK_R_BLOCKLISTED_INSTALL_ID,
  RISK_R_BLOCKLISTED_ADDRESS,
  RISK_R_RESTRICTED_COUNTRY,
  RISK_R_ROOTED,
  RISK_R_EMULATOR,
  RISK_R_DEBUGGER,
  RISK_R_HOOKING,
  RISK_R_WEB_APP,
  RISK_R_OS_OUTDATED,
  RISK_R_APP_OUTDATED,
  RISK_R_TOR_EXIT_NODE,           /* network group: the strongest counts */
  RISK_R_PUBLIC_PROXY,
  RISK_R_RESIDENTIAL_PROXY,
  RISK_R_ANONYMOUS_VPN,
  RISK_R_HOSTING_PROVIDER,
  RISK_R_ANONYMOUS_NETWORK,
  RISK_R_COMPROMISED_ON_ANON,
  RISK_R_SIM_IP_MISMATCH,
  RISK_R_SIM_RESIDENCE_MISMATCH,
  RISK_R_IP_RESIDENCE_MISMATCH,
  RISK_R_BROWSER_PHONE_MISMATCH,
  RISK_R_LOCALE_MISMATCH,
  RISK_R_TIMEZONE_MISMATCH,
  RISK_R_DEVICE_REUSED,
  RISK_R_DEVICE_REUSED_MANY,
  RISK_R_VELOCITY_ADDRESS,
  RISK_R_VELOCITY_DEVICE,
  RISK_R_QR_MULTIPLE_DEVICES,
  RISK_R_GEO_UNAVAILABLE,
  RISK_R_COUNT
};

#define RISK_MAX_RESTRICTED 64
#define RISK_MAX_MIN_OS 8
#define RISK_MAX_AAGUIDS 64
#define RISK_VERSION_STR 24

struct risk_min_os {
  char platform[16];              /* lowercase */
  char version[RISK_VERSION_STR];
};

struct risk_rules {
  int weight[RISK_R_COUNT];               /* 0..100 */
  enum risk_decision floor[RISK_R_COUNT]; /* ALLOW = no floor */
  int review_at;                          /* score >= this: review */
  int deny_at;                            /* score >= this: deny (101:
                                             never by score alone) */
  int four_eyes_at;                       /* a review this high needs two
                                             approvers (back-office) */
  char restricted[RISK_MAX_RESTRICTED][3];
  size_t n_restricted;
  struct risk_min_os min_os[RISK_MAX_MIN_OS];
  size_t n_min_os;
  char min_app_version[RISK_VERSION_STR];
  int velocity_address;       /* others from this address in 1 h: fires */
  int velocity_device;        /* other enrolments of this device in 1 h */
  int reuse_many_at;          /* other enrolments bound: device_reused_many */
  /* passkey authenticator models (passkey_rules.c): none allowed = all */
  uint8_t aaguid_allow[RISK_MAX_AAGUIDS][16];
  size_t n_aaguid_allow;
  uint8_t aaguid_deny[RISK_MAX_AAGUIDS][16];
  size_t n_aaguid_deny;
  char version[RISK_VERSION_LEN];   /* "r-" + 16 hex of the canonical dump */
};

/** @return the stable code of @a r ("rooted"), or NULL out of range. */
const char *
risk_rule_code (enum risk_rule r);

/** @return true if @a r is in the network group (only the largest weight
 *  of the group counts). */
bool
risk_rule_is_network (enum risk_rule r);

/** Fill @a rules with the built-in defaults (the same as rules.conf). */
void
risk_rules_defaults (struct risk_rules *rules);

/**
 * Parse a rules file's text over the built-in defaults.
 * @param name  shown in errors ("rules.conf")
 * @param[out] err  "name:LINE: what is wrong" on failure
 * @return 0, or -1 (@a rules then undefined)
 */
int
risk_rules_parse (const char *text, const char *name,
                  struct risk_rules *rules, char *err, size_t errlen);

/** risk_rules_parse() on a file's contents. @return 0 or -1. */
int
risk_rules_load_file (const char *path, struct risk_rules *rules,
                      char *err, size_t errlen);

/** The effective rules as canonical "key = value" lines.
 *  @return malloc'd text, or NULL. */
char *
risk_rules_dump (const struct risk_rules *rules);

/** Recompute rules->version from the canonical dump. @return 0 or -1. */
int
risk_rules_set_version (struct risk_rules *rules);

/* ------------------------------------------------------ passkey_rules.c */

/**
 * Parse a comma-separated list of AAGUIDs (8-4-4-4-12 hex, any case) into
 * @a out, replacing what was there.
 * @return 0, or -1 with "what is wrong" in @a why
 */
int
risk_aaguid_list_parse (const char *v, uint8_t out[RISK_MAX_AAGUIDS][16],
                        size_t *n, char *why, size_t whylen);

/** The lists as canonical lines (sorted, lower case) on @a f. */
void
risk_aaguid_lists_dump (FILE *f, const struct risk_rules *rules);

/** The deny list wins; a non-empty allow list admits only its models.
 *  @return true if a passkey of model @a aaguid may be registered */
bool
risk_aaguid_decide (const struct risk_rules *rules,
                    const uint8_t aaguid[16]);

/* ---------------------------------------------------------- countries */

/** @return the alpha-2 code of an ISO 3166 alpha-3 code (case-insensitive;
 *  an alpha-2 code is accepted as itself), or NULL if unknown. */
const char *
risk_country_alpha2 (const char *code);

/** @return true if @a alpha2 is an assigned ISO 3166-1 code (uppercase). */
bool
risk_country_known (const char *alpha2);

/**
 * Is IANA zone @a tz used in country @a alpha2?  Compares the zone's area
 * ("Europe" of "Europe/Paris") with the areas of the country's zones.
 * @return 1 consistent, 0 inconsistent, -1 cannot tell (Etc/UTC, an
 *         unknown country or a zone without an area).
 */
int
risk_country_tz_consistent (const char *alpha2, const char *tz);

/* ----------------------------------------------------------- signals */

/** Compare dotted numeric versions ("17.4.1" vs "16").
 *  @return <0, 0, >0; or -2 if either is not a version. */
int
risk_version_cmp (const char *a, const char *b);

/** The region of a BCP 47 locale ("fr-FR", "fr_FR", "zh-Hant-TW" -> "TW")
 *  into @a out (3 bytes, uppercase). @return 0, or -1 if it has none. */
int
risk_locale_region (const char *locale, char out[3]);

enum risk_addr_class {
  RISK_ADDR_NONE,       /* not given */
  RISK_ADDR_INVALID,    /* not an IPv4/IPv6 address */
  RISK_ADDR_PRIVATE,    /* loopback, RFC 1918, link-local, ULA, CGNAT */
  RISK_ADDR_PUBLIC
};

/** Classify @a addr; when valid, write its canonical text to @a canon
 *  (INET6_ADDRSTRLEN bytes; may be NULL). */
enum risk_addr_class
risk_addr_classify (const char *addr, char *canon, size_t canonlen);

/* --------------------------------------------------------------- geo */

struct risk_geodb {
  MMDB_s country;
  MMDB_s anonymous;
  bool have_country;
  bool have_anonymous;
};

/** What GeoIP says about one address. */
struct risk_geo {
  enum risk_addr_class cls;
  bool country_known;
  char country[3];            /* alpha-2 when country_known */
  bool anon_known;            /* the anonymous DB was consulted */
  bool anonymous, vpn, hosting, public_proxy, residential_proxy, tor;
};

/**
 * Open the databases whose paths are given (NULL or "" = none).
 * @return 0 if both opened, 1 if one or both are missing (the message in
 *         @a err), never -1: a missing database degrades, it does not stop.
 */
int
risk_geo_open (struct risk_geodb *g, const char *country_path,
               const char *anonymous_path, char *err, size_t errlen);

void
risk_geo_close (struct risk_geodb *g);

/** Look @a addr up; private and invalid addresses are "unknown". */
void
risk_geo_lookup (const struct risk_geodb *g, const char *addr,
                 struct risk_geo *out);

/* ----------------------------------------------------------- history */

/** What PostgreSQL remembers (risk_db.c fills it in one round trip). */
struct risk_history {
  long bound_elsewhere;       /* other enrolments with this key/install id,
                                 devices not denied */
  long address_1h;            /* devices from this address in the last
                                 hour, other enrolments */
  long device_1h;             /* other enrolments binding this key/install
                                 id in the last hour */
  long qr_other_keys;         /* other device keys that tried this QR */
  bool blocked_key;
  bool blocked_install_id;
  bool blocked_address;
  char residence[4];          /* alpha-3 from the enrolment, or "" */
};

enum core_db_status
risk_db_history (struct core_db *db, const struct risk_input *in,
                 struct risk_history *h);

/* ------------------------------------------------------------- score */

/** Everything one evaluation weighs. */
struct risk_facts {
  const struct risk_input *in;
  const char *residence;      /* effective alpha-3, or NULL */
  struct risk_geo phone;
  struct risk_geo browser;
  bool country_db;            /* the databases were available */
  bool anonymous_db;
  struct risk_history hist;
};

/**
 * Gather facts with @a geo (may be NULL: no databases) and @a hist, then
 * evaluate with @a rules into @a out.  Pure apart from the GeoIP reads.
 * @return 0, or -1 on allocation failure (@a out zeroed).
 */
int
risk_score_facts (const struct risk_rules *rules,
                  const struct risk_geodb *geo, const struct risk_input *in,
                  const struct risk_history *hist, struct risk_result *out);

/** risk_score_facts() with the loaded state, under its read lock.
 *  @return 0, -1 on allocation failure, -2 if nothing is loaded. */
int
risk_score_loaded (const struct risk_input *in,
                   const struct risk_history *hist, struct risk_result *out);

/** The canonical inputs object of @a f (hashed into input_hash).
 *  @return a new reference, or NULL. */
json_t *
risk_facts_json (const struct risk_facts *f);

/**
 * Apply @a rules to @a f: fills score, decision, reasons, signals,
 * ruleset_version (not inputs/input_hash).
 * @return 0, or -1 on allocation failure.
 */
int
risk_evaluate (const struct risk_rules *rules, const struct risk_facts *f,
               struct risk_result *out);

#endif
