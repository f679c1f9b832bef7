/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_static.c -- the browser pages: web/enrol/index.html at "/", and the
 * files of web/enrol/, web/backoffice/ and web/common/ (the modules both
 * apps share) by name; web/signin/, the passkey sign-in demonstration,
 * when signin_demo is on.
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

static void
serve_file (struct srv_request *rq, const char *dir, const char *name)
{
  const char *mime = mime_of (name);
  char path[4096];
  FILE *f;
  char *buf = NULL;
  long len;

  if (NULL == mime
      || (size_t) snprintf (path, sizeof path, "%s/%s/%s", web_root (), dir,
                            name) >= sizeof path
      || NULL == (f = fopen (path, "rb")))
  {
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
    return;
  }
  if (0 == fseek (f, 0, SEEK_END) && (len = ftell (f)) >= 0
      && len <= MAX_STATIC && 0 == fseek (f, 0, SEEK_SET)
      && NULL != (buf = malloc ((size_t) len + 1))
      && (size_t) len == fread (buf, 1, (size_t) len, f))
    srv_reply_bytes (rq, MHD_HTTP_OK, mime, buf, (size_t) len);
  else
    srv_reply_error (rq, CORE_ERR_NOT_FOUND, NULL, NULL);
  free (buf);
  fclose (f);
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
