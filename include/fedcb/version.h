#ifndef FEDCB_PUBLIC_VERSION_H
#define FEDCB_PUBLIC_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

#define FCB_VERSION_MAJOR 0
#define FCB_VERSION_MINOR 2
#define FCB_VERSION_PATCH 0
#define FCB_VERSION_STRING "0.2.0"
/* One number that grows with every release: 10000 * major + 100 * minor + patch. */
#define FCB_VERSION_NUMBER (10000 * FCB_VERSION_MAJOR + 100 * FCB_VERSION_MINOR + FCB_VERSION_PATCH)

/* The version of the library the program runs with, e.g. "0.2.0"; compare
 * with FCB_VERSION_STRING, the version of the headers it was built with. */
const char *fcb_version(void);

#ifdef __cplusplus
}
#endif

#endif
