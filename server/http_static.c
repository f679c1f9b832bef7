/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_static.c -- the browser pages: web/enrol/index.html at "/", and the
 * files of web/enrol/, web/backoffice/ and web/common/ (the modules both
 * apps share) by name; the Guichet app (web/app/ at /app/, with its QR
 * decoder in web/app/vendor/) under policies of its own; web/signin/, the
 * passkey sign-in demonstration, when signin_demo is on.
 *
 * Only plain file names reach this file (the router's {file} capture has
 * no '/' and no leading '.'), so a path can never climb out of web_root.
 * Types are set from a fixed table; anything else is 404.  Pages get the
 * strict Content-Security-Policy (no inline script or style).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#include "core/config.h"
#include "core/log.h"
#include "server/handlers.h"

#define MAX_STATIC (1024 * 1024)

static const struct {
  const char *ext;
  const char *mime;
} types[] = {
  { ".html", "text/html; charset=utf-8" },
  { ".js", "text/javascript; charset=utf-8" },
  { ".css", "text/css; charset=utf-8" },
  { ".svg", "image/svg+xml" },
  { ".png", "image/png" },
  { ".ico", "image/x-icon" },
  { ".json", "application/json; charset=utf-8" },
  { ".webmanifest", "application/manifest+json" },
};

static const char *
mime_of (const char *name)
{
  const char *dot = strrchr (name, '.');

  if (NULL == dot)
    return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (0 == strcmp (dot, types[i].ext))
      return types[i].mime;
  return NULL;
}

static const char *
web_root (void)
{
  if (NULL != core_cfg->web_root && '\0' != core_cfg->web_root[0])
    return core_cfg->web_root;
#ifdef GUICHET_SOURCE_DIR
  return GUICHET_SOURCE_DIR "/web";
#else
  return "web";
#endif
}

/* The file @a name of web_root/@a dir, read whole into *@a buf (malloc'd,
   caller frees).  @return its type, or NULL (nothing allocated) when it
   has no known type, does not exist or is too large. */
static const char *
read_file (const char *dir, const char *name, char **buf, size_t *len)
{
  const char *mime = mime_of (name);
  char path[4096];
  FILE *f;
  long n;

  *buf = NULL;
  if (NULL == mime
      || (size_t) snprintf (path, sizeof path, "%s/%s/%s", web_root (), dir,
                            name) >= sizeof path
      || NULL == (f = fopen (path, "rb")))
    return NULL;
  if (0 == fseek (f, 0, SEEK_END) && (n = ftell (f)) >= 0
      && n <= MAX_STATIC && 0 == fseek (f, 0, SEEK_SET)
      && NULL != (*buf = malloc ((size_t) n + 1))
      && (size_t) n == fread (*buf, 1, (size_t) n, f))
    *len = (size_t) n;
  else
  {
    free (*buf);
    *buf = NULL;
    mime = NULL;
  }
  fclose (f);
  return mime;
}

static void
serve_file (struct srv_request *rq, const char *dir, const char *name)
{
  char *buf;
  size_t len;
  const char *mime = read_file (dir, name, &buf, &len);

  if (NULL == mime)
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
  else
    srv_reply_bytes (rq, MHD_HTTP_OK, mime, buf, len);
  free (buf);
}

void
srv_http_index (struct srv_request *rq)
{
  serve_file (rq, "enrol", "index.html");
}

void
srv_http_enrol_file (struct srv_request *rq)
{
  serve_file (rq, "enrol", rq->args[0]);
}

void
srv_http_common_file (struct srv_request *rq)
{
  serve_file (rq, "common", rq->args[0]);
}

void
srv_http_backoffice_index (struct srv_request *rq)
{
  serve_file (rq, "backoffice", "index.html");
}

void
srv_http_backoffice_file (struct srv_request *rq)
{
  serve_file (rq, "backoffice", rq->args[0]);
}

void
srv_http_approve_index (struct srv_request *rq)
{
  serve_file (rq, "approve", "index.html");
}

void
srv_http_approve_file (struct srv_request *rq)
{
  serve_file (rq, "approve", rq->args[0]);
}

/* ---------------------------------------------------------------- app */

/* The Guichet app's page may use the camera (to scan QR codes), run its
   service worker and QR decoding worker, and load nothing from anywhere
   else; Trusted Types admit only the script URLs its policy names
   (web/app/app.js).  Its scripts run as workers under their own
   response's policy: importScripts() and fetch() of its own files. */
#define APP_PAGE_CSP \
  "default-src 'none'; script-src 'self'; style-src 'self'; " \
  "img-src 'self'; connect-src 'self'; worker-src 'self'; " \
  "manifest-src 'self'; object-src 'none'; base-uri 'none'; " \
  "form-action 'none'; frame-ancestors 'none'; " \
  "require-trusted-types-for 'script'; trusted-types guichet-app"
#define APP_SCRIPT_CSP \
  "default-src 'none'; script-src 'self'; connect-src 'self'; " \
  "frame-ancestors 'none'"
#define APP_OTHER_CSP "default-src 'none'; frame-ancestors 'none'"
#define APP_PERMISSIONS "camera=(self), microphone=(), geolocation=()"

static void
serve_app (struct srv_request *rq, const char *dir, const char *name)
{
  char *buf;
  size_t len;
  const char *mime = read_file (dir, name, &buf, &len);

  if (NULL == mime)
  {
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
    return;
  }
  if (0 == strncmp (mime, "text/html", 9))
    srv_reply_bytes_policy (rq, MHD_HTTP_OK, mime, buf, len, APP_PAGE_CSP,
                            APP_PERMISSIONS);
  else
    srv_reply_bytes_policy (rq, MHD_HTTP_OK, mime, buf, len,
                            0 == strncmp (mime, "text/javascript", 15)
                            ? APP_SCRIPT_CSP : APP_OTHER_CSP, NULL);
  free (buf);
}

void
srv_http_app_index (struct srv_request *rq)
{
  serve_app (rq, "app", "index.html");
}

/* The app's files.  No .json: the manifest is .webmanifest, and
   package.json beside the files is npm's, not the browser's. */
void
srv_http_app_file (struct srv_request *rq)
{
  const char *dot = strrchr (rq->args[0], '.');

  if (NULL != dot && 0 == strcmp (dot, ".json"))
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
  else
    serve_app (rq, "app", rq->args[0]);
}

/* What ./dev build copies from npm packages (the QR decoder) into
   web/app/vendor/, which git ignores. */
void
srv_http_app_vendor_file (struct srv_request *rq)
{
  serve_app (rq, "app/vendor", rq->args[0]);
}

/* The passkey sign-in demonstration: only with signin_demo = 1. */
void
srv_http_signin_index (struct srv_request *rq)
{
  if (core_cfg->signin_demo)
    serve_file (rq, "signin", "index.html");
  else
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
}

void
srv_http_signin_file (struct srv_request *rq)
{
  if (core_cfg->signin_demo)
    serve_file (rq, "signin", rq->args[0]);
  else
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
}
