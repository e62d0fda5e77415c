#include "dp_accountant.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Small sigma with moderate q needs thousands of terms (q = 0.2, sigma 0.3:
 * about 2,600); past this many the order is given up as +inf. */
enum { MAX_FRACTIONAL_TERMS = 100000 };

/* The series stops once its terms fall below e^-30 of the running total. */
static const double NEGLIGIBLE_LOG_RATIO = 30.0;
static const double LOG_SQRT_PI = 0.57236494292470008707;

static double log_add(double log_x, double log_y)
{
    double low = log_x < log_y ? log_x : log_y;
    double high = log_x < log_y ? log_y : log_x;
    if (low == -INFINITY)
        return high;
    return high + log1p(exp(low - high));
}

/* log(erfc(x)); erfc underflows near x = 27, so the far tail uses its
 * asymptotic series erfc(x) = exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) +
 * 3/(4x^4) - 15/(8x^6) + 105/(16x^8) ...), accurate to 1e-11 from x = 20. */
static double log_erfc(double x)
{
    if (x < 20.0)
        return log(erfc(x));
    double inv = 1.0 / (x * x);
    double series = inv * (-0.5 + inv * (0.75 + inv * (-1.875 + inv * 6.5625)));
    return -x * x - log(x) - LOG_SQRT_PI + log1p(series);
}

double fcb_dp_log_a_integer(double q, double noise_multiplier, int alpha)
{
    double log_q = log(q);
    double log_1mq = log1p(-q);
    double inv_two_var = 1.0 / (2.0 * noise_multiplier * noise_multiplier);
    double log_binom = 0.0; /* log C(alpha, i) */
    double log_a = -INFINITY;
    for (int i = 0; i <= alpha; i++) {
        if (i > 0)
            log_binom += log((double)(alpha - i + 1)) - log((double)i);
        double di = (double)i;
        double term = log_binom + di * log_q + (alpha - di) * log_1mq + (di * di - di) * inv_two_var;
        log_a = log_add(log_a, term);
    }
    return log_a;
}

/* Sum of signed terms kept as log(positive part) and log(negative part). */
typedef struct {
    double log_positive;
    double log_negative;
} signed_log_sum;

static void signed_log_sum_add(signed_log_sum *sum, int sign, double log_term)
{
    if (sign > 0)
        sum->log_positive = log_add(sum->log_positive, log_term);
    else
        sum->log_negative = log_add(sum->log_negative, log_term);
}

/* log(positive - negative), or +inf when rounding leaves nothing positive. */
static double signed_log_sum_value(const signed_log_sum *sum)
{
    if (sum->log_negative == -INFINITY)
        return sum->log_positive;
    if (!(sum->log_positive > sum->log_negative))
        return INFINITY;
    return sum->log_positive + log1p(-exp(sum->log_negative - sum->log_positive));
}

double fcb_dp_log_a_fractional(double q, double noise_multiplier, double alpha)
{
    double sigma = noise_multiplier;
    double log_q = log(q);
    double log_1mq = log1p(-q);
    double inv_two_var = 1.0 / (2.0 * sigma * sigma);
    double z0 = sigma * sigma * log(1.0 / q - 1.0) + 0.5;
    double erfc_scale = 1.0 / (sqrt(2.0) * sigma);

    /* The integrals over (-inf, z0] and [z0, +inf). */
    signed_log_sum a0 = {-INFINITY, -INFINITY};
    signed_log_sum a1 = {-INFINITY, -INFINITY};
    double last_s0 = -INFINITY, last_s1 = -INFINITY;
    double log_binom = 0.0; /* log |C(alpha, i)| */
    int sign = 1;           /* sign of C(alpha, i) */
    for (int i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
        if (i > 0) {
            double factor = alpha - i + 1;
            if (factor == 0.0) /* integer alpha: every further coefficient is 0 */
                break;
            log_binom += log(fabs(factor)) - log((double)i);
            if (factor < 0.0)
                sign = -sign;
        }
        double di = (double)i;
        double j = alpha - di;
        double log_t0 = log_binom + di * log_q + j * log_1mq;
        double log_t1 = log_binom + j * log_q + di * log_1mq;
        double log_e0 = log(0.5) + log_erfc((di - z0) * erfc_scale);
        double log_e1 = log(0.5) + log_erfc((z0 - j) * erfc_scale);
        double log_s0 = log_t0 + (di * di - di) * inv_two_var + log_e0;
        double log_s1 = log_t1 + (j * j - j) * inv_two_var + log_e1;
        signed_log_sum_add(&a0, sign, log_s0);
        signed_log_sum_add(&a1, sign, log_s1);

        double total = log_add(a0.log_positive, a1.log_positive);
        double largest = log_s0 > log_s1 ? log_s0 : log_s1;
        if (log_s0 < last_s0 && log_s1 < last_s1 && largest < total - NEGLIGIBLE_LOG_RATIO)
            break;
        if (i == MAX_FRACTIONAL_TERMS - 1)
            return INFINITY;
        last_s0 = log_s0;
        last_s1 = log_s1;
    }
    return log_add(signed_log_sum_value(&a0), signed_log_sum_value(&a1));
}

static double rdp_of_one_step(double q, double noise_multiplier, double alpha)
{
    if (q == 0.0)
        return 0.0;
    if (isinf(alpha) || noise_multiplier == 0.0)
        return INFINITY;
    if (q == 1.0)
        return alpha / (2.0 * noise_multiplier * noise_multiplier);
    double log_a = alpha == floor(alpha) && alpha <= 1e6
                       ? fcb_dp_log_a_integer(q, noise_multiplier, (int)alpha)
                       : fcb_dp_log_a_fractional(q, noise_multiplier, alpha);
    return log_a / (alpha - 1.0);
}

static fcb_status check_mechanism(const char *fn, double q, double noise_multiplier, long steps)
{
    if (!(q >= 0.0 && q <= 1.0))
        return fcb_fail(FCB_ERR_ARG, "%s: sampling rate q = %g must be in [0, 1]", fn, q);
    if (!(noise_multiplier >= 0.0) || !isfinite(noise_multiplier))
        return fcb_fail(FCB_ERR_ARG, "%s: noise multiplier z = %g must be finite and >= 0", fn,
                        noise_multiplier);
    if (steps < 0)
        return fcb_fail(FCB_ERR_ARG, "%s: steps = %ld must be >= 0", fn, steps);
    return FCB_OK;
}

static fcb_status check_orders(const char *fn, const double *orders, int num_orders)
{
    if (orders == NULL || num_orders < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: need at least one order", fn);
    for (int k = 0; k < num_orders; k++) {
        if (!(orders[k] > 1.0))
            return fcb_fail(FCB_ERR_ARG, "%s: order %d is %g, must be > 1", fn, k, orders[k]);
    }
    return FCB_OK;
}

/* steps x per-step RDP, with 0 steps of an infinite RDP still 0. */
static double compose(double step_rdp, long steps)
{
    return steps == 0 ? 0.0 : step_rdp * (double)steps;
}

fcb_status fcb_dp_compute_rdp(double q, double noise_multiplier, long steps, const double *orders,
                              int num_orders, double *rdp)
{
    const char *fn = "fcb_dp_compute_rdp";
    fcb_status status = check_mechanism(fn, q, noise_multiplier, steps);
    if (status == FCB_OK)
        status = check_orders(fn, orders, num_orders);
    if (status != FCB_OK)
        return status;
    if (rdp == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: rdp is NULL", fn);
    for (int k = 0; k < num_orders; k++)
        rdp[k] = compose(rdp_of_one_step(q, noise_multiplier, orders[k]), steps);
    return FCB_OK;
}

static double epsilon_at_order(double alpha, double rdp, double delta,
                               fcb_dp_conversion conversion)
{
    if (conversion == FCB_DP_CONVERSION_CLASSIC)
        return rdp - log(delta) / (alpha - 1.0);
    if (rdp <= 0.0) /* a negative RDP can only be rounding */
        return 0.0;
    if (delta * delta + expm1(-rdp) > 0.0)
        return 0.0;
    if (alpha > 1.01) /* the bound is unstable as alpha -> 1, and useless there */
        return rdp + log1p(-1.0 / alpha) - (log(delta) + log(alpha)) / (alpha - 1.0);
    return INFINITY;
}

fcb_status fcb_dp_epsilon(const double *orders, const double *rdp, int num_orders, double delta,
                          fcb_dp_conversion conversion, double *epsilon, double *best_order)
{
    const char *fn = "fcb_dp_epsilon";
    fcb_status status = check_orders(fn, orders, num_orders);
    if (status != FCB_OK)
        return status;
    if (rdp == NULL || epsilon == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    if (!(delta > 0.0 && delta < 1.0))
        return fcb_fail(FCB_ERR_ARG, "%s: delta = %g must be in (0, 1)", fn, delta);
    if (conversion != FCB_DP_CONVERSION_TIGHT && conversion != FCB_DP_CONVERSION_CLASSIC)
        return fcb_fail(FCB_ERR_ARG, "%s: unknown conversion %d", fn, (int)conversion);
    for (int k = 0; k < num_orders; k++) {
        if (isnan(rdp[k]))
            return fcb_fail(FCB_ERR_ARG, "%s: RDP at order %g is NaN", fn, orders[k]);
    }

    int best = 0;
    double best_epsilon = INFINITY;
    for (int k = 0; k < num_orders; k++) {
        double value = epsilon_at_order(orders[k], rdp[k], delta, conversion);
        if (value < best_epsilon) {
            best_epsilon = value;
            best = k;
        }
    }
    *epsilon = best_epsilon > 0.0 ? best_epsilon : 0.0;
    if (best_order != NULL)
        *best_order = orders[best];
    return FCB_OK;
}

void fcb_dp_default_orders(double *orders)
{
    int k = 0;
    for (int x = 1; x <= 99; x++)
        orders[k++] = 1.0 + x / 10.0;
    for (int order = 12; order <= 63; order++)
        orders[k++] = order;
    orders[k++] = 128.0;
    orders[k++] = 256.0;
    orders[k] = 512.0;
}

void fcb_dp_accountant_init(fcb_dp_accountant *acc)
{
    memset(acc, 0, sizeof *acc);
    fcb_dp_default_orders(acc->orders);
}

fcb_status fcb_dp_accountant_add(fcb_dp_accountant *acc, double q, double noise_multiplier,
                                 long steps)
{
    fcb_status status = check_mechanism("dp accountant", q, noise_multiplier, steps);
    if (status != FCB_OK)
        return status;
    if (!acc->cached || acc->cached_q != q || acc->cached_noise_multiplier != noise_multiplier) {
        for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
            acc->cached_step_rdp[k] = rdp_of_one_step(q, noise_multiplier, acc->orders[k]);
        acc->cached = 1;
        acc->cached_q = q;
        acc->cached_noise_multiplier = noise_multiplier;
    }
    for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
        acc->rdp[k] += compose(acc->cached_step_rdp[k], steps);
    acc->steps += steps;
    return FCB_OK;
}

fcb_status fcb_dp_accountant_epsilon(const fcb_dp_accountant *acc, double delta, double *epsilon,
                                     double *best_order)
{
    return fcb_dp_epsilon(acc->orders, acc->rdp, FCB_DP_NUM_ORDERS, delta,
                          FCB_DP_CONVERSION_TIGHT, epsilon, best_order);
}
