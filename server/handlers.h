/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * handlers.h -- every endpoint handler, one group per http_*.c file.
 * The route table in router.c is the only caller.
 */
#ifndef GUICHET_SERVER_HANDLERS_H
#define GUICHET_SERVER_HANDLERS_H

#include "server/server.h"

/* http_ops.c */
void srv_http_healthz (struct srv_request *rq);
void srv_http_readyz (struct srv_request *rq);
void srv_http_metrics (struct srv_request *rq);

/* http_static.c */
void srv_http_index (struct srv_request *rq);
void srv_http_enrol_file (struct srv_request *rq);
void srv_http_common_file (struct srv_request *rq);
void srv_http_backoffice_index (struct srv_request *rq);
void srv_http_backoffice_file (struct srv_request *rq);
void srv_http_approve_index (struct srv_request *rq);
void srv_http_approve_file (struct srv_request *rq);
void srv_http_signin_index (struct srv_request *rq);
void srv_http_signin_file (struct srv_request *rq);

/* http_authn.c */
void srv_http_authn_verify (struct srv_request *rq);
void srv_http_authn_resync (struct srv_request *rq);

/* http_enrolments.c */
void srv_http_enrolment_create (struct srv_request *rq);
void srv_http_enrolment_get (struct srv_request *rq);
void srv_http_enrolment_resume_link (struct srv_request *rq);
void srv_http_enrolment_resume (struct srv_request *rq);
void srv_http_enrolment_credential (struct srv_request *rq);
/** The base URL for links and QR payloads (public_url or http://listen). */
const char *srv_public_url (void);
/** The applicant session cookie of the request, or NULL. */
const char *srv_applicant_token (struct srv_request *rq);

/* http_devices.c */
void srv_http_challenge_create (struct srv_request *rq);
void srv_http_challenge_svg (struct srv_request *rq);
void srv_http_challenge_status (struct srv_request *rq);
void srv_http_device_activate (struct srv_request *rq);
void srv_http_enrolment_pin (struct srv_request *rq);
void srv_http_enrolment_otp_confirm (struct srv_request *rq);
void srv_http_device_get (struct srv_request *rq);
/** SRV_AUTH_DEVICE: check the signed-request headers. @return false once
 *  an error reply is queued. */
bool srv_device_authenticate (struct srv_request *rq);

/* http_transactions.c (relying party, API key) */
void srv_http_tx_create (struct srv_request *rq);
void srv_http_tx_get (struct srv_request *rq);
void srv_http_tx_svg (struct srv_request *rq);
void srv_http_tx_verify (struct srv_request *rq);
void srv_http_tx_evidence (struct srv_request *rq);

/* http_tx_device.c (the phone, signed device requests) */
void srv_http_tx_pending (struct srv_request *rq);
void srv_http_tx_approve (struct srv_request *rq);
void srv_http_tx_decline (struct srv_request *rq);
/** ?wait=N of a long poll: 0..25, 0 when absent, or -1 once a 400 reply
 *  is queued. */
long srv_wait_param (struct srv_request *rq);
/** A resumed long poll whose first deadline has passed. */
bool srv_wait_over (const struct srv_request *rq);

/* http_approval.c (the hosted approval page, by the link's secret) */
void srv_http_approval_get (struct srv_request *rq);
void srv_http_approval_svg (struct srv_request *rq);
void srv_http_approval_verify (struct srv_request *rq);

/* http_admin_auth.c */
void srv_http_admin_login (struct srv_request *rq);
void srv_http_admin_logout (struct srv_request *rq);
void srv_http_admin_me (struct srv_request *rq);
void srv_http_admin_password (struct srv_request *rq);
void srv_http_admin_admins (struct srv_request *rq);

/* http_admin_reviews.c */
void srv_http_admin_reviews (struct srv_request *rq);
void srv_http_admin_review (struct srv_request *rq);
void srv_http_admin_review_decision (struct srv_request *rq);

/* http_admin_audit.c */
void srv_http_admin_audit (struct srv_request *rq);

/* http_admin_tokens.c */
void srv_http_admin_tokens_import (struct srv_request *rq);
void srv_http_admin_tokens (struct srv_request *rq);

/* http_admin_customers.c */
void srv_http_admin_customer (struct srv_request *rq);
void srv_http_admin_customer_unlock (struct srv_request *rq);
void srv_http_admin_credential_revoke (struct srv_request *rq);

/* http_passkeys.c */
void srv_http_passkey_registration_options (struct srv_request *rq);
void srv_http_passkey_register (struct srv_request *rq);
void srv_http_passkey_options (struct srv_request *rq);
void srv_http_passkey_verify (struct srv_request *rq);
void srv_http_enrolment_passkey_options (struct srv_request *rq);
void srv_http_enrolment_passkey (struct srv_request *rq);
void srv_http_signin_demo_options (struct srv_request *rq);
void srv_http_signin_demo_verify (struct srv_request *rq);
void srv_http_admin_passkey_revoke (struct srv_request *rq);
/** Read and check the relying party of passkeys from the configuration
 *  (before the workers start). @return 0, or -1 with @a why */
int srv_passkey_setup (char *why, size_t whylen);
/** Add the customer's "passkeys" to the back-office view @a view. */
enum core_err srv_admin_customer_passkeys (struct srv_request *rq,
                                           json_t *view);
/* http_assist.c (assisted enrolment) */
void srv_http_assist_offer (struct srv_request *rq);
void srv_http_assist_stop (struct srv_request *rq);
void srv_http_assist_join (struct srv_request *rq);
void srv_http_assist_view (struct srv_request *rq);
void srv_http_assist_hint (struct srv_request *rq);
void srv_http_assist_leave (struct srv_request *rq);
/* http_assurance.c */
void srv_http_enrolment_assurance_code (struct srv_request *rq);
void srv_http_device_assurance_code (struct srv_request *rq);
void srv_http_admin_customer_assurance_code (struct srv_request *rq);

/* http_admin_outbox.c */
void srv_http_admin_outbox (struct srv_request *rq);
void srv_http_admin_outbox_retry (struct srv_request *rq);

/* admin_session.c */
/**
 * SRV_AUTH_ADMIN: check the back-office session cookie (15 minutes idle),
 * the X-CSRF-Token header on state-changing methods, and the route's role.
 * Sets rq->admin_username and rq->admin_role.
 * @return false once an error reply (401/403) is queued.
 */
bool srv_admin_authenticate (struct srv_request *rq);

#endif
