#ifndef FEDCB_STATE_LOCK_H
#define FEDCB_STATE_LOCK_H

#include "status.h"

/* A coordinator's claim on its state directory for the life of the
 * process: an exclusive lock on DIR/lock (which also records the holder's
 * pid), so that two coordinators never checkpoint into one directory. */
typedef struct {
    int fd; /* -1 when not held */
} fcb_state_lock;

/* Creates dir if missing and takes the lock; a held lock is refused with
 * one line naming the directory and the holder's pid. */
fcb_status fcb_state_lock_acquire(fcb_state_lock *lock, const char *dir);
void fcb_state_lock_release(fcb_state_lock *lock);

#endif
