#include "fedcb/version.h"

const char *fcb_version(void)
{
    return FCB_VERSION_STRING;
}
