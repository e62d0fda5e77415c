#ifndef FEDCB_WALL_TIME_H
#define FEDCB_WALL_TIME_H

/* Monotonic seconds, for durations shown to people (never for results). */
double fcb_wall_seconds(void);

/* Seconds since the Unix epoch, for times that are stored and compared
 * across restarts (an agent's events); never for randomness. */
double fcb_epoch_seconds(void);

#endif
