#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("fedcb %s\n", FEDCB_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: fedcb <command>\n");
    return 2;
}
