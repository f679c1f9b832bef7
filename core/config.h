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
  char *web_root;                  /* folder with web/ assets */
  char *sanctions_dir;             /* folder with sdn.csv/alt.csv, or "" */
  char *geoip_country_db;          /* path or "" */
  char *geoip_anonymous_db;        /* path or "" */
  char *risk_rules_file;           /* "" = the source tree's risk/rules.conf */
  unsigned int enrolment_ttl_s;    /* default 86400 */
  unsigned int session_idle_s;     /* default 300 */
  unsigned int challenge_ttl_s;    /* default 180 */
  char *migrations_dir;            /* folder of NNNN_name.sql files;
                                      default <source dir>/migrations */
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
