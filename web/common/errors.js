// SPDX-License-Identifier: AGPL-3.0-or-later
//
// errors.js -- the API failures that mean the same on every page, shared
// by the enrolment pages and the back-office (served at /common/).
//
// Each app first handles the statuses that mean something of its own (a
// lost session, a field to correct, an expired application) and leaves
// the rest to commonError(), which names the message to show.  The words
// themselves stay in each app's dictionary: an applicant and a member of
// staff are not told things the same way.

// @return [key, params] of the banner for @a e, an ApiError.
export function commonError (e) {
  switch (e.status) {
  case 0:
    return ["error.network"];
  case 429: {
    const s = parseInt(e.retryAfter, 10);
    return s > 0 ? ["error.rate_limited_wait", { s }] : ["error.rate_limited"];
  }
  case 503:
    return ["error.database_unavailable"];
  default:
    return ["error.generic", { code: e.code }];
  }
}
