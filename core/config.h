/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * config.h -- guichetd's configuration: built-in defaults, then a file of
 * "key = value" lines ('#' starts a comment; a value may be "double
 * quoted"), then environment variables GUICHET_<KEY> (key upper-cased),
 * each overriding the previous.
 *
 * The config file path is GUICHET_CONFIG or the --config option.  Values are
 * validated once at load; a bad value is a start-up error naming the key.
 * The config holds paths to secrets, never secrets themselves.
 */
#ifndef GUICHET_CORE_CONFIG_H
#define GUICHET_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/** A rate limit: @a count requests per @a period_s seconds; count 0 is
    "no limit".  Written "COUNT/PERIOD" in the configuration, PERIOD being
    seconds or a number with a unit s, m, h or d ("20/h", "5/10m"), or
    "off". */
struct core_rate {
  unsigned int count;
  unsigned int period_s;
};

struct core_config {
  char *listen;              /* "127.0.0.1:8080"; key listen */
  char *database_url;        /* libpq conninfo/URI; key database_url */
  char *master_key_file;     /* key master_key_file */
  char *public_url;          /* base URL shown to phones; key public_url */
  unsigned int workers;      /* HTTP worker threads, each with its own
                                database connection; key workers */
  size_t max_body;           /* default body cap in bytes; key max_body */
  unsigned int lockout_attempts;   /* key lockout_attempts (default 5) */
  unsigned int audit_refusals_sync; /* 1: refusals' audit rows commit
                                       synchronously too (default 0) */
  unsigned int totp_window;        /* steps either side (default 1) */
  unsigned int hotp_lookahead;     /* default 10 */
  unsigned int resync_window;      /* default 1000 */
  unsigned int argon2_m_kib;       /* default 19456 */
  unsigned int argon2_t;           /* default 2 */
  unsigned int argon2_p;           /* default 1 */
  char *log_level;                 /* debug|info|warn|error */
  char *trusted_proxies;           /* comma-separated addresses */
  char *metrics_from;              /* who may read /metrics; "*": anyone */
  char *web_root;                  /* folder with web/ assets */
  char *sanctions_dir;             /* folder with sdn.csv/alt.csv, or "" */
  char *geoip_country_db;          /* path or "" */
  char *geoip_anonymous_db;        /* path or "" */
  char *risk_rules_file;           /* "" = the source tree's risk/rules.conf */
  unsigned int enrolment_ttl_s;    /* default 86400 */
  unsigned int session_idle_s;     /* default 300 */
  unsigned int challenge_ttl_s;    /* default 180 */
  unsigned int resume_link_min_age_s; /* a younger live link is kept */
  unsigned int admin_session_max_s; /* a back-office session ends this long
                                       after login, however busy (28800) */
  unsigned int admin_idle_s;       /* ... and this long after its last call
                                      (900) */
  unsigned int review_hours;       /* what an applicant waiting for a
                                      review is told it usually takes
                                      (default 24) */
  unsigned int tx_ttl_s;           /* a transaction's lifetime, default 300 */
  /* what the enrolment page shows around the steps (GET /v1/enrolment-info) */
  char *app_name;                  /* the authenticator app's name */
  char *app_store_url;             /* where to get it: Apple App Store */
  char *play_store_url;            /* ... and Google Play; "" = not shown */
  char *contact_email;             /* the bank's contact for applicants */
  char *contact_phone;
  char *contact_hours;             /* e.g. "Mon-Fri 9:00-18:00" */
  char *help_url;
  char *privacy_url;
  char *legal_url;
  unsigned int assist_code_ttl_s;  /* an assistance code lives (600) */
  unsigned int assist_idle_s;      /* an assistance session idles out (900) */
  unsigned int assist_code_attempts; /* wrong codes per advisor (5) ... */
  unsigned int assist_code_window_s; /* ... per this many seconds (600) */
  char *migrations_dir;            /* folder of NNNN_name.sql files;
                                      default <source dir>/migrations */
  /* lockouts (customers and back-office usernames) */
  unsigned int lockout_base_s;     /* first lock, doubling: default 900 */
  unsigned int lockout_max_s;      /* longest temporary lock: 86400 */
  unsigned int lockout_permanent;  /* 1: locks last until an unlock */
  /* rate limits (docs/security-abuse.md) */
  struct core_rate rate_enrolment_per_address;
  struct core_rate rate_resume_link_per_enrolment;
  struct core_rate rate_resume_link_per_address;
  struct core_rate rate_activation_per_challenge;
  struct core_rate rate_activation_per_address;
  struct core_rate rate_admin_login_per_username;
  struct core_rate rate_admin_login_per_address;
  struct core_rate rate_verify_per_customer;
  struct core_rate rate_verify_per_api_key;
  struct core_rate rate_pin_per_enrolment;
  struct core_rate rate_challenge_per_enrolment;
  struct core_rate rate_assurance_code_per_customer;
  /* connections */
  unsigned int max_connections_per_address;  /* 0: no cap; default 64 */
  unsigned int header_timeout_s;   /* request line + headers; default 10 */
  /* retention (core/retention.c) */
  unsigned int purge_interval_s;   /* default 60; 0: no purge here */
  unsigned int purge_batch;        /* rows per DELETE; default 1000 */
  unsigned int retention_s;        /* ended sessions, tokens...: 86400 */
  unsigned int retention_challenges_s;  /* dead challenges: 30 days */
  unsigned int retention_outbox_s; /* sent messages: 7 days */
  unsigned int retention_nonces_s; /* signed-request nonces: 600 */
  char *webauthn_rp_id;            /* "" = the host of public_url */
  char *webauthn_rp_name;          /* shown by authenticators: "Guichet" */
  char *webauthn_origins;          /* comma-separated; "" = public_url's */
  char *webauthn_attestation;      /* none | indirect | direct */
  unsigned int signin_demo;        /* 1: serve the /signin/ demonstration */
  /* notify/: e-mail and webhooks */
  char *smtp_url;                  /* smtp://host:port or smtps://…; ""
                                      = no e-mail is sent */
  char *mail_from;                 /* envelope and From address */
  char *smtp_user;                 /* relay login, or "" */
  char *smtp_password_file;        /* its password's file, or "" */
  unsigned int smtp_timeout_s;     /* per message (default 30) */
  unsigned int webhook_timeout_s;  /* per event (default 10) */
  unsigned int notify_workers;     /* sender threads (default 2; 0 none) */
  unsigned int notify_poll_ms;     /* idle wait (default 1000) */
  unsigned int notify_batch;       /* rows per claim (default 20) */
  unsigned int notify_max_attempts;   /* then failed (default 10) */
  unsigned int notify_retry_base_ms;  /* first back-off (default 30000) */
  unsigned int notify_retry_max_s;    /* longest back-off (default 3600) */
};

/**
 * Load the configuration.
 * @param path  a config file, or NULL for none (GUICHET_CONFIG is then used
 *              if set)
 * @param[out] out  filled on success; release with core_config_free
 * @param[out] errbuf  on failure, a message naming the bad key
 * @return 0 on success, -1 on failure
 */
int
core_config_load (const char *path, struct core_config *out,
                  char *errbuf, size_t errlen);

void
core_config_free (struct core_config *cfg);

/** The process-wide configuration, set once by main before threads start. */
extern const struct core_config *core_cfg;

#endif
