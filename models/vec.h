#ifndef FEDCB_VEC_H
#define FEDCB_VEC_H

#include <stddef.h>

/* Small vector helpers every layer uses. */

/* Euclidean norm of n floats, accumulated in double. */
double fcb_l2_norm(const float *v, size_t n);

/* Index of the largest of k >= 1 values; ties go to the lowest index. */
int fcb_argmax(const float *v, int k);

#endif
