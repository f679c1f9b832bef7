/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tmpdir.h -- a private folder for one unit test executable: made by
 * tmpdir_setup() under /tmp, emptied and removed by tmpdir_teardown()
 * (cmocka group fixtures), with write_file() to put a file in it, and the
 * N() and UNUSED helpers those tests share.  Header only, for the tests of
 * core/.
 */
#ifndef GUICHET_TESTS_TMPDIR_H
#define GUICHET_TESTS_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N(a) (sizeof (a) / sizeof (a)[0])
#define UNUSED __attribute__ ((unused))

static char tmpdir[64];

/* Write @a text to tmpdir/@a name with @a mode. @return the path (static). */
static const char *
write_file (const char *name, const char *text, mode_t mode)
{
  static char path[128];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  unlink (path);
  f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  assert_int_equal (chmod (path, mode), 0);
  return path;
}

static int
tmpdir_setup (void **state UNUSED)
{
  snprintf (tmpdir, sizeof tmpdir, "/tmp/guichet-test-XXXXXX");
  return mkdtemp (tmpdir) != NULL ? 0 : -1;
}

/* The tests make only plain files in it. */
static int
tmpdir_teardown (void **state UNUSED)
{
  DIR *d = opendir (tmpdir);
  struct dirent *e;
  char path[sizeof tmpdir + sizeof e->d_name + 1];

  if (d == NULL)
    return -1;
  while ((e = readdir (d)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      snprintf (path, sizeof path, "%s/%s", tmpdir, e->d_name);
      unlink (path);
    }
  closedir (d);
  return rmdir (tmpdir);
}

#endif
