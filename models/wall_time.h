#ifndef FEDCB_WALL_TIME_H
#define FEDCB_WALL_TIME_H

/* Monotonic seconds, for durations shown to people (never for results). */
double fcb_wall_seconds(void);

#endif
