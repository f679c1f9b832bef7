/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * templates.c -- what every message says, in English and in French.
 *
 * A queued message is a kind and its parameters; this file turns them into
 * a subject and a plain-text body in the recipient's language, with
 * {name} replaced by a parameter (or by a phrase chosen from one, such as
 * the kind of credential), and ends a customer's message with the line
 * API.md prescribes, "Your security code: XXXXXX", kept word for word in
 * every language so the customer always looks for the same line.
 *
 * Wording rules: say what happened and when, what to do if it was not
 * them, and nothing more.  An applicant whose enrolment was refused is
 * told only that it cannot go on online (no reason: no tipping-off).  No
 * message asks for a PIN or a code, and no message carries one other
 * than the customer's own assurance code at its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "notify/notify_int.h"

struct tmpl {
  const char *kind;
  const char *subject[2];      /* en, fr */
  const char *body[2];
};

#define HELLO_EN "Hello,\n\n"
#define HELLO_FR "Bonjour,\n\n"

static const struct tmpl tmpls[] = {
  { NOTIFY_RESUME_LINK,
    { "Continue your account opening",
      "Poursuivez l'ouverture de votre compte" },
    { HELLO_EN "To continue opening your account, open this link within "
      "one hour:\n\n{link}\n\nIf you did not ask for it, ignore this "
      "message: nothing changes without it.\n",
      HELLO_FR "Pour poursuivre l'ouverture de votre compte, ouvrez ce lien "
      "dans l'heure :\n\n{link}\n\nSi vous ne l'avez pas demandé, ignorez "
      "ce message : rien ne change sans lui.\n" } },
  { NOTIFY_REVIEW_APPROVED,
    { "Your account opening can continue",
      "Votre ouverture de compte peut reprendre" },
    { HELLO_EN "We have checked your application: you can now continue "
      "opening your account here, within one hour:\n\n{link}\n\nIf the "
      "link has expired, open the page you started from and ask for a new "
      "one.\n",
      HELLO_FR "Nous avons vérifié votre demande : vous pouvez poursuivre "
      "l'ouverture de votre compte ici, dans l'heure :\n\n{link}\n\nSi le "
      "lien a expiré, revenez sur la page où vous avez commencé et "
      "demandez-en un nouveau.\n" } },
  { NOTIFY_REVIEW_REJECTED,
    { "Your account opening", "Votre ouverture de compte" },
    { HELLO_EN "We cannot continue your account opening online. If you "
      "wish, contact your bank, who can tell you what to do next.\n\n"
      "This message needs no answer.\n",
      HELLO_FR "Nous ne pouvons pas poursuivre votre ouverture de compte en "
      "ligne. Si vous le souhaitez, contactez votre banque, qui vous "
      "indiquera la marche à suivre.\n\nCe message n'appelle pas de "
      "réponse.\n" } },
  { NOTIFY_WELCOME,
    { "Welcome: your account is ready",
      "Bienvenue : votre compte est prêt" },
    { HELLO_EN "Your account is open. Your customer reference is "
      "{customer_id}: keep it, the bank may ask for it.\n\nFrom now on you "
      "sign in with your PIN and {credential}. Never give your PIN or a "
      "code to anyone, not even to someone who says they are from the "
      "bank.\n\nEvery message we send you ends with your security code, "
      "below. If a message that seems to come from us does not end with "
      "it, or ends with another one, it is not from us: do not open its "
      "links and do not answer it.\n",
      HELLO_FR "Votre compte est ouvert. Votre référence client est "
      "{customer_id} : conservez-la, la banque peut vous la demander.\n\n"
      "Désormais, vous vous connectez avec votre code PIN et {credential}. "
      "Ne communiquez jamais votre code PIN ni un code à personne, pas même "
      "à quelqu'un qui se dit de la banque.\n\nChaque message que nous vous "
      "envoyons se termine par votre code de sécurité, ci-dessous. Si un "
      "message qui semble venir de nous ne se termine pas par ce code, ou "
      "par un autre, il ne vient pas de nous : n'ouvrez pas ses liens et "
      "n'y répondez pas.\n" } },
  { NOTIFY_DEVICE_REGISTERED,
    { "A new sign-in method was added to your account",
      "Un nouveau moyen de connexion a été ajouté à votre compte" },
    { HELLO_EN "On {at}, a new sign-in method was added to your account: "
      "{credential}.\n\nIf this was you, there is nothing to do. If it was "
      "not, call your bank at once: someone may be trying to take over "
      "your account.\n",
      HELLO_FR "Le {at}, un nouveau moyen de connexion a été ajouté à votre "
      "compte : {credential}.\n\nSi c'était vous, il n'y a rien à faire. "
      "Sinon, appelez votre banque sans attendre : quelqu'un tente "
      "peut-être de prendre le contrôle de votre compte.\n" } },
  { NOTIFY_CREDENTIAL_REVOKED,
    { "A sign-in method was removed from your account",
      "Un moyen de connexion a été retiré de votre compte" },
    { HELLO_EN "On {at}, the bank revoked one of your sign-in methods: "
      "{credential}. It can no longer be used to sign in.\n\nIf you did "
      "not ask for this, call your bank.\n",
      HELLO_FR "Le {at}, la banque a révoqué l'un de vos moyens de "
      "connexion : {credential}. Il ne peut plus servir à vous "
      "connecter.\n\nSi vous ne l'avez pas demandé, appelez votre "
      "banque.\n" } },
  { NOTIFY_ACCOUNT_LOCKED,
    { "Your access is locked", "Votre accès est bloqué" },
    { HELLO_EN "After too many wrong attempts, signing in to your account "
      "was locked on {locked_at}.\n\n{unlock}\n\nIf these attempts were "
      "not yours, someone may know your PIN: call your bank.\n",
      HELLO_FR "Après trop de tentatives erronées, la connexion à votre "
      "compte a été bloquée le {locked_at}.\n\n{unlock}\n\nSi ces "
      "tentatives ne venaient pas de vous, quelqu'un connaît peut-être "
      "votre code PIN : appelez votre banque.\n" } },
  { NOTIFY_CODE_CHANGED,
    { "Your security code was changed",
      "Votre code de sécurité a été changé" },
    { HELLO_EN "On {at}, your security code was changed {by}. From now "
      "on, our messages end with the new code, below.\n\nIf you did not "
      "ask for this, call your bank.\n",
      HELLO_FR "Le {at}, votre code de sécurité a été changé {by}. "
      "Désormais, nos messages se terminent par le nouveau code, "
      "ci-dessous.\n\nSi vous ne l'avez pas demandé, appelez votre "
      "banque.\n" } },
  { NOTIFY_TX_APPROVED,
    { "Payment approved: {amount} {currency} to {payee_name}",
      "Paiement approuvé : {amount} {currency} à {payee_name}" },
    { HELLO_EN "You approved a payment of {amount} {currency} to "
      "{payee_name} on {at}.\n\nIf this was not you, call your bank at "
      "once.\n",
      HELLO_FR "Vous avez approuvé un paiement de {amount} {currency} à "
      "{payee_name} le {at}.\n\nSi ce n'était pas vous, appelez votre "
      "banque sans attendre.\n" } },
  { NOTIFY_TX_DECLINED,
    { "Payment declined: {amount} {currency} to {payee_name}",
      "Paiement refusé : {amount} {currency} à {payee_name}" },
    { HELLO_EN "You declined a payment of {amount} {currency} to "
      "{payee_name} on {at}. It will not be made.\n\nIf you do not "
      "recognise this payment, someone may have tried to pay with your "
      "account: call your bank.\n",
      HELLO_FR "Vous avez refusé un paiement de {amount} {currency} à "
      "{payee_name} le {at}. Il ne sera pas effectué.\n\nSi vous ne "
      "reconnaissez pas ce paiement, quelqu'un a peut-être tenté de payer "
      "avec votre compte : appelez votre banque.\n" } },
  /* queued by the second of two approvals (four eyes) that attach an
     enrolment to this customer (enrol/review.c) */
  { NOTIFY_REENROLMENT,
    { "A new credential is being set up for your account",
      "Un nouveau moyen de connexion est en cours d'ajout à votre compte" },
    { HELLO_EN "On {at}, our staff approved a request to set up a new "
      "phone or token for your account, with the identity document you "
      "enrolled with.\n\nWhen it completes, your PIN is replaced and the "
      "new credential is added to your account.\n\nIf you did not ask for "
      "this, call your bank at once, and give no code to anyone.\n",
      HELLO_FR "Le {at}, notre personnel a approuvé une demande d'ajout d'un "
      "nouveau téléphone ou d'un nouveau jeton à votre compte, avec la pièce "
      "d'identité de votre ouverture de compte.\n\nQuand elle aboutira, "
      "votre code PIN sera remplacé et le nouveau moyen de connexion ajouté "
      "à votre compte.\n\nSi vous ne l'avez pas demandé, appelez votre "
      "banque sans attendre et ne communiquez aucun code.\n" } },
};

#define N_TMPLS (sizeof tmpls / sizeof tmpls[0])

/* Phrases chosen by a parameter's value: {param, value, en, fr}. */
static const char *const phrases[][4] = {
  /* welcome: "you sign in with your PIN and ..." */
  { "welcome.credential", "device",
    "the codes of the Guichet app on your phone",
    "les codes de l'application Guichet de votre téléphone" },
  { "welcome.credential", "otpauth", "the codes of your authenticator app",
    "les codes de votre application d'authentification" },
  { "welcome.credential", "hardware", "the codes of your hardware token",
    "les codes de votre jeton matériel" },
  /* device_registered and credential_revoked: "...: <credential>." */
  { "credential", "device", "the Guichet app on a phone",
    "l'application Guichet d'un téléphone" },
  { "credential", "otpauth", "an authenticator app",
    "une application d'authentification" },
  { "credential", "hardware", "a hardware token", "un jeton matériel" },
  { "credential", "passkey", "a passkey", "une clé d'accès (passkey)" },
  { "credential", "", "a phone or an authenticator app",
    "un téléphone ou une application d'authentification" },
  { "by", "device", "from your phone", "depuis votre téléphone" },
  { "by", "staff", "by our support staff, at your request",
    "par notre service clients, à votre demande" },
  { "unlock", "", "Call your bank to unlock it.",
    "Appelez votre banque pour la débloquer." },
};

static const char *const footer[2] = {
  "\n-- \nThis code, known only to you and the bank, shows that this "
  "message is really from us.\n",
  "\n-- \nCe code, que seuls vous et la banque connaissez, montre que ce "
  "message vient bien de nous.\n",
};

static const char *
phrase (const char *name, const char *value, int lang)
{
  for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
    if (0 == strcmp (phrases[i][0], name)
        && 0 == strcmp (phrases[i][1], NULL != value ? value : ""))
      return phrases[i][2 + lang];
  return NULL;
}

/* "2024-05-01T14:03:09Z" as "2024-05-01 at 14:03 UTC" / "01/05/2024 à
   14:03 UTC"; NULL when it is not such a time. */
static char *
format_time (const char *iso, int lang)
{
  int y, mo, d, h, mi;
  char *s = NULL;

  if (NULL == iso || 5 != sscanf (iso, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d,
                                  &h, &mi))
    return NULL;
  if (0 == lang)
  {
    if (asprintf (&s, "%04d-%02d-%02d at %02d:%02d UTC", y, mo, d, h, mi) < 0)
      s = NULL;
  }
  else if (asprintf (&s, "%02d/%02d/%04d à %02d:%02d UTC", d, mo, y, h, mi)
           < 0)
    s = NULL;
  return s;
}

static bool
is_time_param (const char *name)
{
  return 0 == strcmp (name, "at") || 0 == strcmp (name, "locked_at")
         || 0 == strcmp (name, "unlocks_at");
}

/* The text for {name} in message @a kind: a phrase, a formatted time, or
   the parameter as given.  @return malloc'd, or NULL if missing. */
static char *
var (const char *kind, const char *name, const json_t *params, int lang)
{
  const char *v = json_string_value (json_object_get (params, name));
  const char *p;
  char key[64];

  if (0 == strcmp (name, "unlock"))
  {
    const char *until = json_string_value (json_object_get (params,
                                                            "unlocks_at"));
    char *t = format_time (until, lang), *s = NULL;

    if (NULL == t)
      return strdup (phrase ("unlock", "", lang));
    if (asprintf (&s, 0 == lang ? "It unlocks by itself on %s."
                  : "Elle se débloquera d'elle-même le %s.", t) < 0)
      s = NULL;
    free (t);
    return s;
  }
  if (0 == strcmp (name, "credential"))
  {
    const char *serial = json_string_value (json_object_get (params,
                                                             "serial"));
    char *s = NULL;

    snprintf (key, sizeof key, "%s.credential", kind);
    if (NULL != (p = phrase (key, v, lang)))
      return strdup (p);
    if (NULL != serial
        && asprintf (&s, 0 == lang ? "the hardware token %s"
                     : "le jeton matériel %s", serial) > 0)
      return s;
    p = phrase ("credential", v, lang);
    return strdup (NULL != p ? p : phrase ("credential", "", lang));
  }
  if (0 == strcmp (name, "by"))
    return NULL != (p = phrase ("by", v, lang)) ? strdup (p) : NULL;
  if (is_time_param (name))
    return format_time (v, lang);
  return NULL != v ? strdup (v) : NULL;
}

/* Replace every {name} of @a text. @return malloc'd, or NULL (*why). */
static char *
expand (const char *kind, const char *text, const json_t *params, int lang,
        const char **why)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  const char *p = text;

  if (NULL == f)
    return NULL;
  while ('\0' != *p)
  {
    const char *close;
    char name[32];
    char *v;

    if ('{' != *p || NULL == (close = strchr (p, '}'))
        || (size_t) (close - p - 1) >= sizeof name)
    {
      fputc (*p++, f);
      continue;
    }
    memcpy (name, p + 1, (size_t) (close - p - 1));
    name[close - p - 1] = '\0';
    if (NULL == (v = var (kind, name, params, lang)))
    {
      *why = "a template parameter is missing";
      fclose (f);
      core_free_secret (buf, len);
      return NULL;
    }
    fputs (v, f);
    core_free_secret (v, strlen (v));
    p = close + 1;
  }
  fclose (f);
  return buf;
}

/* Append the footer and the code line to @a body (consumed). */
static char *
with_code (char *body, const char *code, int lang)
{
  char *s = NULL;

  if (NULL == body || NULL == code)
    return body;
  if (asprintf (&s, "%s%s" NOTIFY_CODE_LINE "%s\n", body, footer[lang],
                code) < 0)
    s = NULL;
  core_free_secret (body, strlen (body));
  return s;
}

int
notify_render (const char *kind, const char *lang, const json_t *params,
               const char *code, struct notify_text *out, const char **why)
{
  int l = (NULL != lang && 0 == strcmp (lang, "fr")) ? 1 : 0;

  memset (out, 0, sizeof *out);
  *why = NULL;
  for (size_t i = 0; i < N_TMPLS; i++)
  {
    if (0 != strcmp (tmpls[i].kind, kind))
      continue;
    out->subject = expand (kind, tmpls[i].subject[l], params, l, why);
    out->body = NULL != out->subject
                ? expand (kind, tmpls[i].body[l], params, l, why) : NULL;
    out->body = with_code (out->body, code, l);
    if (NULL != out->body)
      return 0;
    notify_text_clear (out);
    if (NULL == *why)
      *why = "out of memory";
    return -1;
  }
  *why = "no template for this kind of message";
  return -1;
}

int
notify_render_raw (const char *subject, const char *body, const char *code,
                   struct notify_text *out)
{
  out->subject = strdup (subject);
  out->body = with_code (strdup (body), code, 0);
  if (NULL != out->subject && NULL != out->body)
    return 0;
  notify_text_clear (out);
  return -1;
}

void
notify_text_clear (struct notify_text *t)
{
  if (NULL != t->subject)
    core_free_secret (t->subject, strlen (t->subject));
  if (NULL != t->body)
    core_free_secret (t->body, strlen (t->body));
  t->subject = NULL;
  t->body = NULL;
}
