/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * score.c -- the rules applied to the facts: a pure function from (rules,
 * facts) to (score, decision, reasons, signals).
 *
 * Arithmetic: every rule that fires adds its weight, except the network
 * rules (Tor exit, proxies, VPN, hosting), of which only the largest
 * counts -- they describe one fact, "this connection is anonymised", and
 * an address flagged five ways is no worse than a Tor exit.  The sum is
 * clamped to 0-100; the thresholds turn it into allow/review/deny; then
 * each fired rule's floor raises the decision (never lowers it).  A check
 * that lacks its data is "skipped" with why: it never counts as passed in
 * silence, and a missing GeoIP database is a reason of its own.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "risk/risk_int.h"

/* For explanations: a reported string, or a stand-in. */
static const char *
shown (const char *s)
{
  return (NULL != s) ? s : "(not reported)";
}

struct eval {
  const struct risk_rules *rules;
  const struct risk_facts *f;
  json_t *signals;
  json_t *reasons;
  int sum;
  enum risk_decision floor;
  bool oom;
  char sim[3];                /* normalised SIM country, or "" */
  char residence[3];          /* alpha-2 of the declared residence, or "" */
};

static bool
enabled (const struct eval *e, enum risk_rule r)
{
  return e->rules->weight[r] > 0 || RISK_ALLOW != e->rules->floor[r];
}

static void
put (struct eval *e, enum risk_rule r, json_t *sig)
{
  if (NULL == sig || 0 != json_object_set_new (e->signals,
                                               risk_rule_code (r), sig))
    e->oom = true;
}

/* Record rule @a r: its observed @a value (stolen), whether it @a fired,
 * the points it adds, and an explanation in plain words. */
__attribute__ ((format (printf, 6, 7)))
static void
verdict_pts (struct eval *e, enum risk_rule r, json_t *value, bool fired,
             int points, const char *fmt, ...)
{
  json_t *sig;
  char why[320];
  va_list ap;

  fired = fired && enabled (e, r);
  sig = json_pack ("{s:o, s:b}", "value", (NULL != value) ? value
                   : json_null (), "fired", fired);
  if (fired && NULL != sig)
    {
      va_start (ap, fmt);
      vsnprintf (why, sizeof why, fmt, ap);
      va_end (ap);
      json_object_set_new (sig, "weight", json_integer (e->rules->weight[r]));
      json_object_set_new (sig, "contribution", json_integer (points));
      if (RISK_ALLOW != e->rules->floor[r])
        json_object_set_new (sig, "floor", json_string (
                               risk_decision_name (e->rules->floor[r])));
      json_object_set_new (sig, "explanation", json_string (why));
      if (0 != json_array_append_new (e->reasons,
                                      json_string (risk_rule_code (r))))
        e->oom = true;
      e->sum += points;
      if (e->rules->floor[r] > e->floor)
        e->floor = e->rules->floor[r];
    }
  put (e, r, sig);
}

#define verdict(e, r, value, fired, ...) \
  verdict_pts (e, r, value, fired, (e)->rules->weight[r], __VA_ARGS__)

/* Rule @a r could not be checked: say why, with what was known. */
static void
skip (struct eval *e, enum risk_rule r, json_t *value, const char *why)
{
  put (e, r, json_pack ("{s:o, s:b, s:s}", "value",
                        (NULL != value) ? value : json_null (),
                        "fired", false, "skipped", why));
}

/* ============================================================ device */

static const char *
min_os_for (const struct risk_rules *rules, const char *platform)
{
  if (NULL == platform)
    return NULL;
  for (size_t i = 0; i < rules->n_min_os; i++)
    if (0 == strcasecmp (rules->min_os[i].platform, platform))
      return rules->min_os[i].version;
  return NULL;
}

static void
rule_versions (struct eval *e, const struct risk_device *d)
{
  const char *min = min_os_for (e->rules, d->platform);
  int c;

  if (NULL == min)
    skip (e, RISK_R_OS_OUTDATED, json_pack ("{s:s?, s:s?}", "platform",
          d->platform, "os_version", d->os_version),
          "no minimum OS version for this platform");
  else
    {
      c = risk_version_cmp (d->os_version, min);
      verdict (e, RISK_R_OS_OUTDATED, json_pack ("{s:s?, s:s?, s:s}",
               "platform", d->platform, "os_version", d->os_version,
               "minimum", min), c < 0,
               "The phone runs %s %s; the minimum accepted is %s.",
               d->platform, shown (d->os_version), min);
    }
  c = risk_version_cmp (d->app_version, e->rules->min_app_version);
  verdict (e, RISK_R_APP_OUTDATED, json_pack ("{s:s?, s:s}", "app_version",
           d->app_version, "minimum", e->rules->min_app_version), c < 0,
           "The authenticator app is version %s; the minimum accepted "
           "is %s.", shown (d->app_version), e->rules->min_app_version);
}

#define NOT_REPORTED \
  "not reported: the app cannot tell (the web app has no integrity checks)"

/* The web app (web/app/, docs/app.md): keys in the browser's storage,
   not a secure element, and nothing checks the phone it runs on. */
static bool
is_web_app (const struct risk_device *d)
{
  return NULL != d->platform && 0 == strcasecmp (d->platform, "web");
}

static void
rules_device (struct eval *e)
{
  const struct risk_device *d = &e->f->in->device;

  if (d->rooted_unknown)
    skip (e, RISK_R_ROOTED, NULL, NOT_REPORTED);
  else
    verdict (e, RISK_R_ROOTED, json_boolean (d->rooted), d->rooted,
             "The phone reports that it is rooted or jailbroken: its "
             "security checks can be bypassed.");
  if (d->emulator_unknown)
    skip (e, RISK_R_EMULATOR, NULL, NOT_REPORTED);
  else
    verdict (e, RISK_R_EMULATOR, json_boolean (d->emulator), d->emulator,
             "The app runs in an emulator, not on a real phone.");
  if (d->debugger_unknown)
    skip (e, RISK_R_DEBUGGER, NULL, NOT_REPORTED);
  else
    verdict (e, RISK_R_DEBUGGER, json_boolean (d->debugger), d->debugger,
             "A debugger is attached to the app.");
  if (d->hooking_unknown)
    skip (e, RISK_R_HOOKING, NULL, NOT_REPORTED);
  else
    verdict (e, RISK_R_HOOKING, json_boolean (d->hooking), d->hooking,
             "A hooking framework (such as Frida or Xposed) is active in "
             "the app.");
  verdict (e, RISK_R_WEB_APP, json_pack ("{s:s?}", "platform", d->platform),
           is_web_app (d),
           "The authenticator is the web app: its keys are kept by the "
           "browser, not a secure element, and nothing can check whether "
           "the phone is rooted, emulated or hooked.");
  rule_versions (e, d);
}

/* =========================================================== network */

static const struct {
  enum risk_rule rule;
  const char *what;
} net_rules[] = {
  { RISK_R_TOR_EXIT_NODE, "a Tor exit node" },
  { RISK_R_PUBLIC_PROXY, "a public proxy" },
  { RISK_R_RESIDENTIAL_PROXY, "a residential proxy" },
  { RISK_R_ANONYMOUS_VPN, "an anonymising VPN" },
  { RISK_R_HOSTING_PROVIDER, "a hosting provider (not a consumer network)" },
  { RISK_R_ANONYMOUS_NETWORK, "an anonymising network" },
};
#define N_NET (sizeof net_rules / sizeof net_rules[0])

static void
net_flags (const struct risk_geo *g, bool fired[N_NET])
{
  fired[0] = g->tor;
  fired[1] = g->public_proxy;
  fired[2] = g->residential_proxy;
  fired[3] = g->vpn;
  fired[4] = g->hosting;
  fired[5] = g->anonymous && ! (g->tor || g->public_proxy
                                || g->residential_proxy || g->vpn
                                || g->hosting);
}

static const char *
unknown_why (const struct risk_geo *g, bool db)
{
  if (RISK_ADDR_NONE == g->cls)
    return "no address";
  if (RISK_ADDR_INVALID == g->cls)
    return "not an IP address";
  if (RISK_ADDR_PRIVATE == g->cls)
    return "private or loopback address";
  return db ? "address not in the GeoIP database" : "GeoIP unavailable";
}

/* @return whether the phone's network is anonymising (for the combo). */
static bool
rules_network (struct eval *e)
{
  const struct risk_geo *g = &e->f->phone;
  bool fired[N_NET];
  size_t best = N_NET;

  if (! g->anon_known)
    {
      for (size_t i = 0; i < N_NET; i++)
        skip (e, net_rules[i].rule, NULL,
              unknown_why (g, e->f->anonymous_db));
      return false;
    }
  net_flags (g, fired);
  for (size_t i = 0; i < N_NET; i++)
    if (fired[i] && enabled (e, net_rules[i].rule)
        && (N_NET == best || e->rules->weight[net_rules[i].rule]
            > e->rules->weight[net_rules[best].rule]))
      best = i;
  for (size_t i = 0; i < N_NET; i++)
    verdict_pts (e, net_rules[i].rule, json_boolean (fired[i]), fired[i],
                 (i == best) ? e->rules->weight[net_rules[i].rule] : 0,
                 "The phone's address %s is %s%s.",
                 shown (e->f->in->phone_addr),
                 net_rules[i].what, (i == best || ! fired[i]) ? ""
                 : " (only the strongest network signal counts)");
  return g->anonymous || g->tor || g->vpn || g->public_proxy
    || g->residential_proxy || g->hosting;
}

/* Rooted or hooked -- or not known to be neither (an app that cannot
   tell, like the web app): nothing rules out a modified phone. */
static void
rule_compromised (struct eval *e, bool anonymised)
{
  const struct risk_device *d = &e->f->in->device;
  bool rooted = d->rooted && ! d->rooted_unknown;
  bool hooking = d->hooking && ! d->hooking_unknown;
  bool unknown = d->rooted_unknown || d->hooking_unknown;
  bool maybe = rooted || hooking || unknown;
  json_t *v = json_pack ("{s:o, s:o, s:b}",
                         "rooted", d->rooted_unknown ? json_null ()
                         : json_boolean (d->rooted),
                         "hooking", d->hooking_unknown ? json_null ()
                         : json_boolean (d->hooking),
                         "anonymous_network", anonymised);

  if (! e->f->phone.anon_known && maybe)
    skip (e, RISK_R_COMPROMISED_ON_ANON, v,
          unknown_why (&e->f->phone, e->f->anonymous_db));
  else
    verdict (e, RISK_R_COMPROMISED_ON_ANON, v, maybe && anonymised,
             "A %s phone connects through an anonymising network: the "
             "usual set-up of remote account takeover.",
             rooted ? "rooted" : hooking ? "hooked"
             : "possibly modified (the app cannot tell)");
}

/* ======================================================= consistency */

static const char *
geo_country (const struct risk_geo *g)
{
  return g->country_known ? g->country : NULL;
}

static bool
restricted (const struct risk_rules *rules, const char *cc)
{
  for (size_t i = 0; NULL != cc && i < rules->n_restricted; i++)
    if (0 == strcmp (rules->restricted[i], cc))
      return true;
  return false;
}

static void
rule_restricted (struct eval *e)
{
  const char *c[4] = { geo_country (&e->f->phone),
                       geo_country (&e->f->browser),
                       e->sim[0] ? e->sim : NULL,
                       e->residence[0] ? e->residence : NULL };
  static const char *const what[4] =
    { "phone address", "browser address", "SIM card", "declared residence" };
  char list[160] = "";
  bool hit = false;

  for (int i = 0; i < 4; i++)
    if (restricted (e->rules, c[i]))
      {
        snprintf (list + strlen (list), sizeof list - strlen (list),
                  "%s%s %s", hit ? ", " : "", what[i], c[i]);
        hit = true;
      }
  verdict (e, RISK_R_RESTRICTED_COUNTRY, json_pack ("{s:s?, s:s?, s:s?,"
           " s:s?}", "phone_ip", c[0], "browser_ip", c[1], "sim", c[2],
           "residence", c[3]), hit,
           "A restricted country is involved: %s.", list);
}

/* Compare two countries; skip when either is unknown.  @a says_a and
 * @a says_b lead each country in the explanation. */
static void
compare (struct eval *e, enum risk_rule r, const char *na, const char *a,
         const char *nb, const char *b, const char *says_a,
         const char *says_b)
{
  json_t *v = json_pack ("{s:s?, s:s?}", na, a, nb, b);

  if (NULL == a || NULL == b)
    skip (e, r, v, "a country is unknown");
  else
    verdict (e, r, v, 0 != strcmp (a, b), "%s %s, but %s %s.", says_a, a,
             says_b, b);
}

static void
rule_locale (struct eval *e, const char *sim)
{
  const char *locale = e->f->in->device.locale;
  char region[3];
  json_t *v = json_pack ("{s:s?, s:s?}", "locale", locale, "sim", sim);

  if (NULL == sim || 0 != risk_locale_region (locale, region))
    skip (e, RISK_R_LOCALE_MISMATCH, v,
          (NULL == sim) ? "no SIM country" : "locale has no region");
  else
    verdict (e, RISK_R_LOCALE_MISMATCH, v, 0 != strcmp (region, sim),
             "The phone's locale %s is set for %s, its SIM card is from %s.",
             locale, region, sim);
}

static void
rule_timezone (struct eval *e, const char *sim)
{
  const char *tz = e->f->in->device.timezone;
  int ok = risk_country_tz_consistent (sim, tz);
  json_t *v = json_pack ("{s:s?, s:s?}", "timezone", tz, "sim", sim);

  if (ok < 0)
    skip (e, RISK_R_TIMEZONE_MISMATCH, v,
          "no SIM country, or a time zone without an area");
  else
    verdict (e, RISK_R_TIMEZONE_MISMATCH, v, 0 == ok,
             "The phone's time zone %s is not in an area where its SIM "
             "country %s has time zones.", tz, sim);
}

static void
rules_consistency (struct eval *e)
{
  const char *sim = e->sim[0] ? e->sim : NULL;
  const char *res = e->residence[0] ? e->residence : NULL;
  const char *ip = geo_country (&e->f->phone);

  compare (e, RISK_R_SIM_IP_MISMATCH, "sim", sim, "phone_ip", ip,
           "The SIM card is from", "the phone connects from");
  compare (e, RISK_R_SIM_RESIDENCE_MISMATCH, "sim", sim, "residence", res,
           "The SIM card is from", "the applicant declared living in");
  compare (e, RISK_R_IP_RESIDENCE_MISMATCH, "phone_ip", ip, "residence",
           res, "The phone connects from", "the applicant declared living in");
  compare (e, RISK_R_BROWSER_PHONE_MISMATCH, "browser_ip",
           geo_country (&e->f->browser), "phone_ip", ip,
           "The browser that showed the QR code is in",
           "the phone that scanned it is in");
  rule_locale (e, sim);
  rule_timezone (e, sim);
}

/* =========================================================== history */

static void
rules_blocklist (struct eval *e)
{
  const struct risk_history *h = &e->f->hist;

  verdict (e, RISK_R_BLOCKLISTED_DEVICE_KEY, json_boolean (h->blocked_key),
           h->blocked_key, "This device key is on the blocklist.");
  verdict (e, RISK_R_BLOCKLISTED_INSTALL_ID,
           json_boolean (h->blocked_install_id), h->blocked_install_id,
           "This app installation is on the blocklist.");
  verdict (e, RISK_R_BLOCKLISTED_ADDRESS, json_boolean (h->blocked_address),
           h->blocked_address, "The phone's address %s is on the blocklist.",
           shown (e->f->in->phone_addr));
}

static void
rules_history (struct eval *e)
{
  const struct risk_history *h = &e->f->hist;
  int many = e->rules->reuse_many_at;

  verdict (e, RISK_R_DEVICE_REUSED, json_integer (h->bound_elsewhere),
           h->bound_elsewhere > 0 && h->bound_elsewhere < many,
           "This phone is already bound to %ld other enrolment(s).",
           h->bound_elsewhere);
  verdict (e, RISK_R_DEVICE_REUSED_MANY, json_integer (h->bound_elsewhere),
           h->bound_elsewhere >= many,
           "This phone is already bound to %ld other enrolments "
           "(limit %d).", h->bound_elsewhere, many);
  if (RISK_ADDR_PUBLIC != e->f->phone.cls)
    skip (e, RISK_R_VELOCITY_ADDRESS, json_integer (h->address_1h),
          "not a public address: shared by every client behind it");
  else
    verdict (e, RISK_R_VELOCITY_ADDRESS, json_integer (h->address_1h),
             h->address_1h >= e->rules->velocity_address,
             "%ld other phones registered from this address in the last "
             "hour (limit %d).", h->address_1h, e->rules->velocity_address);
  verdict (e, RISK_R_VELOCITY_DEVICE, json_integer (h->device_1h),
           h->device_1h >= e->rules->velocity_device,
           "This phone registered for %ld other enrolments in the last "
           "hour (limit %d).", h->device_1h, e->rules->velocity_device);
  verdict (e, RISK_R_QR_MULTIPLE_DEVICES, json_integer (h->qr_other_keys),
           h->qr_other_keys > 0,
           "This QR code was also tried by %ld other phone(s): someone "
           "else may have scanned the applicant's code.", h->qr_other_keys);
}

static void
rule_geo_unavailable (struct eval *e)
{
  bool c = e->f->country_db, a = e->f->anonymous_db;

  verdict (e, RISK_R_GEO_UNAVAILABLE, json_pack ("{s:b, s:b}", "country_db",
           c, "anonymous_db", a), ! (c && a),
           "The GeoIP %s database is unavailable: the country and "
           "anonymous-network checks could not run.",
           (! c && ! a) ? "country and anonymous-IP" : (! c) ? "country"
           : "anonymous-IP");
}

/* ============================================================= total */

static void
normalise (struct eval *e)
{
  const char *sim = e->f->in->device.sim_country;
  const char *res = risk_country_alpha2 (e->f->residence);

  e->sim[0] = e->residence[0] = '\0';
  if (NULL != sim && 2 == strlen (sim))
    {
      e->sim[0] = (char) toupper ((unsigned char) sim[0]);
      e->sim[1] = (char) toupper ((unsigned char) sim[1]);
      e->sim[2] = '\0';
      if (! risk_country_known (e->sim))
        e->sim[0] = '\0';
    }
  if (NULL != res)
    memcpy (e->residence, res, 3);
}

static enum risk_decision
decide (const struct risk_rules *rules, int score, enum risk_decision floor)
{
  enum risk_decision d = (score >= rules->deny_at) ? RISK_DENY
    : (score >= rules->review_at) ? RISK_REVIEW : RISK_ALLOW;

  return (floor > d) ? floor : d;
}

int
risk_evaluate (const struct risk_rules *rules, const struct risk_facts *f,
               struct risk_result *out)
{
  struct eval e = { .rules = rules, .f = f, .signals = json_object (),
                    .reasons = json_array () };

  normalise (&e);
  rules_blocklist (&e);
  rule_restricted (&e);
  rules_device (&e);
  rule_compromised (&e, rules_network (&e));
  rules_consistency (&e);
  rules_history (&e);
  rule_geo_unavailable (&e);
  if (e.oom || NULL == e.signals || NULL == e.reasons)
    {
      json_decref (e.signals);
      json_decref (e.reasons);
      return -1;
    }
  out->score = (e.sum < 0) ? 0 : (e.sum > 100) ? 100 : e.sum;
  out->decision = decide (rules, out->score, e.floor);
  out->review_at = rules->review_at;
  out->reasons = e.reasons;
  out->signals = e.signals;
  snprintf (out->ruleset_version, sizeof out->ruleset_version, "%s",
            rules->version);
  return 0;
}
