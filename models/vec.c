#include "vec.h"

#include <math.h>

double fcb_l2_norm(const float *v, size_t n)
{
    double sum = 0.0;
    for (size_t j = 0; j < n; j++)
        sum += (double)v[j] * (double)v[j];
    return sqrt(sum);
}

int fcb_argmax(const float *v, int k)
{
    int best = 0;
    for (int a = 1; a < k; a++)
        if (v[a] > v[best])
            best = a;
    return best;
}
