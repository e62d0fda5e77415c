#include "name_table.h"

#include <stdio.h>
#include <string.h>

fcb_status fcb_name_lookup(const fcb_name_entry *table, size_t count, const char *what, const char *name,
                           int *value)
{
    for (size_t i = 0; name != NULL && i < count; i++) {
        if (strcmp(name, table[i].name) == 0) {
            *value = table[i].value;
            return FCB_OK;
        }
    }
    char valid[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < count && used < sizeof valid; i++) {
        const char *separator = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s", separator, table[i].name);
    }
    return fcb_fail(FCB_ERR_CONFIG, "unknown %s '%s' (expected %s)", what, name ? name : "(null)", valid);
}

int fcb_name_known(const fcb_name_entry *table, size_t count, int value)
{
    for (size_t i = 0; i < count; i++)
        if (table[i].value == value)
            return 1;
    return 0;
}

const char *fcb_name_of(const fcb_name_entry *table, size_t count, int value)
{
    for (size_t i = 0; i < count; i++)
        if (table[i].value == value)
            return table[i].name;
    return "unknown";
}
