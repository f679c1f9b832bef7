// SPDX-License-Identifier: AGPL-3.0-or-later
//
// i18n.js -- every word the approval page shows, in English and French.
//
// One flat dictionary per language, keyed by dotted names; index.html
// names keys in data-i18n and data-i18n-attr, app.js looks them up with
// t().  "{name}" is replaced by a parameter.  A key missing in French falls
// back to English, then to the key itself.

export const LANGS = ["fr", "en"];

const en = {
  "app.title": "Approve a payment",
  "app.doc_title": "{title} – Guichet",
  "skip": "Skip to content",
  "lang.label": "Language",
  "footer.text": "Guichet · Secure payment approval",
  "view.loading": "Loading the payment…",

  "nolink.heading": "This link does not lead to a payment",
  "nolink.text": "Go back to the shop and start the payment again. Never approve a payment you did not start yourself.",

  "payment.heading": "The payment",
  "payment.requested_by": "Requested by",
  "payment.payee": "To",
  "payment.iban": "IBAN",
  "payment.check": "Your phone shows the same amount and payee. Approve only if they are right.",

  "scan.heading": "Approve with the Guichet app",
  "scan.hint": "Open the Guichet app, scan this code, check the amount and the payee, and approve. This page moves on by itself.",
  "scan.qr_alt": "QR code of the payment, to scan with the Guichet app",
  "scan.preparing": "Preparing the code…",
  "scan.time_left": "Time left:",
  "scan.on_this_phone": "On this phone? Open it in the Guichet app",
  "scan.waiting": "Waiting for your phone…",

  "code.heading": "No network on your phone?",
  "code.label": "Enter the 8-digit code the app shows",
  "code.submit": "Confirm the code",
  "code.format": "The code has 8 digits.",
  "code.wrong": "This code is not right. {n} attempts left.",
  "code.wrong_one": "This code is not right. 1 attempt left.",
  "code.checking": "Checking…",

  "status.pending": "Waiting for approval",
  "status.approved": "Payment approved",
  "status.declined": "Payment declined",
  "status.failed": "Payment not approved",
  "status.expired": "Payment request expired",

  "done.approved": "You approved the payment to {payee}.",
  "done.declined": "You declined this payment on your phone. Nothing will be paid.",
  "done.failed": "Too many wrong codes: this payment was not approved. Nothing will be paid.",
  "done.expired": "The time to approve this payment has run out. Nothing will be paid; go back to the shop to try again.",
  "done.returning": "Taking you back to {rp} in {s} s…",
  "done.return": "Back to {rp}",

  "error.locked": "Too many failed attempts: your access is locked. Contact your bank.",
  "error.network": "We cannot reach the bank right now. Check your connection; the page keeps trying.",
  "error.rate_limited": "Too many attempts. Wait a moment and try again.",
  "error.rate_limited_wait": "Too many attempts. Try again in {s} seconds.",
  "error.database_unavailable": "The service is briefly unavailable. The page keeps trying.",
  "error.generic": "Something went wrong (code {code}). Try again.",
};

const fr = {
  "app.title": "Valider un paiement",
  "skip": "Aller au contenu",
  "lang.label": "Langue",
  "footer.text": "Guichet · Validation sécurisée des paiements",
  "view.loading": "Chargement du paiement…",

  "nolink.heading": "Ce lien ne mène à aucun paiement",
  "nolink.text": "Revenez sur le site marchand et recommencez le paiement. Ne validez jamais un paiement que vous n’avez pas lancé vous-même.",

  "payment.heading": "Le paiement",
  "payment.requested_by": "Demandé par",
  "payment.payee": "À",
  "payment.iban": "IBAN",
  "payment.check": "Votre téléphone affiche le même montant et le même bénéficiaire. Ne validez que s’ils sont exacts.",

  "scan.heading": "Validez avec l’application Guichet",
  "scan.hint": "Ouvrez l’application Guichet, scannez ce code, vérifiez le montant et le bénéficiaire, puis validez. Cette page se met à jour d’elle-même.",
  "scan.qr_alt": "QR code du paiement, à scanner avec l’application Guichet",
  "scan.preparing": "Préparation du code…",
  "scan.time_left": "Temps restant :",
  "scan.on_this_phone": "Sur ce téléphone ? Ouvrir dans l’application Guichet",
  "scan.waiting": "En attente de votre téléphone…",

  "code.heading": "Pas de réseau sur votre téléphone ?",
  "code.label": "Saisissez le code à 8 chiffres affiché par l’application",
  "code.submit": "Valider le code",
  "code.format": "Le code compte 8 chiffres.",
  "code.wrong": "Ce code n’est pas le bon. Encore {n} essais.",
  "code.wrong_one": "Ce code n’est pas le bon. Encore 1 essai.",
  "code.checking": "Vérification…",

  "status.pending": "En attente de validation",
  "status.approved": "Paiement validé",
  "status.declined": "Paiement refusé",
  "status.failed": "Paiement non validé",
  "status.expired": "Demande de paiement expirée",

  "done.approved": "Vous avez validé le paiement à {payee}.",
  "done.declined": "Vous avez refusé ce paiement sur votre téléphone. Rien ne sera payé.",
  "done.failed": "Trop de codes erronés : ce paiement n’a pas été validé. Rien ne sera payé.",
  "done.expired": "Le délai pour valider ce paiement est écoulé. Rien ne sera payé ; revenez sur le site marchand pour recommencer.",
  "done.returning": "Retour vers {rp} dans {s} s…",
  "done.return": "Retour vers {rp}",

  "error.locked": "Trop de tentatives échouées : votre accès est bloqué. Contactez votre banque.",
  "error.network": "Impossible de joindre la banque pour le moment. Vérifiez votre connexion ; la page réessaie.",
  "error.rate_limited": "Trop de tentatives. Patientez un instant et réessayez.",
  "error.rate_limited_wait": "Trop de tentatives. Réessayez dans {s} secondes.",
  "error.database_unavailable": "Le service est brièvement indisponible. La page réessaie.",
  "error.generic": "Une erreur est survenue (code {code}). Réessayez.",
};

export const MESSAGES = { en, fr };
