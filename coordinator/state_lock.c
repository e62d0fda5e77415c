#include "state_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long holder_pid(int fd)
{
    char text[32] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    long pid = 0;
    if (n > 0) {
        text[n] = '\0';
        sscanf(text, "%ld", &pid);
    }
    return pid;
}

fcb_status fcb_state_lock_acquire(fcb_state_lock *lock, const char *dir)
{
    lock->fd = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fcb_fail(FCB_ERR_IO, "cannot create the state directory %s: %s", dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int err = errno;
        long pid = holder_pid(fd);
        close(fd);
        if (err == EACCES || err == EAGAIN)
            return fcb_fail(FCB_ERR_STATE, "state directory %s is in use by another coordinator (pid %ld); stop it "
                                           "or give this one another --state-dir", dir, pid);
        return fcb_fail(FCB_ERR_IO, "cannot lock %s: %s", path, strerror(err));
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        close(fd);
        return fcb_fail(FCB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    lock->fd = fd;
    return FCB_OK;
}

void fcb_state_lock_release(fcb_state_lock *lock)
{
    if (lock->fd >= 0)
        close(lock->fd);
    lock->fd = -1;
}
