#include "data_source.h"

float fcb_no_feedback(void *context, int row, int action, fcb_rng *rng)
{
    (void)context;
    (void)row;
    (void)action;
    (void)rng;
    return 0.0f;
}
