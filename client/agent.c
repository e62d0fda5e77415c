#include "agent_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feature_hash.h"
#include "log.h"
#include "wall_time.h"

enum { ROW_STACK_FLOATS = 2048 };

void fcb_agent_options_default(fcb_agent_options *o)
{
    memset(o, 0, sizeof *o);
    o->input_dim = 0;
    o->num_actions = 0;
    o->arch = "linear";
    o->hidden = 32;
    o->policy = "softmax";
    o->epsilon = 0.2f;
    o->temperature = 0.05f;
    o->igw_gamma = 100.0f;
    o->seed = 1;
    o->learn_every = 100;
    o->learning_rate = 0.1f;
    o->local_epochs = 1;
    o->batch_size = 32;
    o->loss = "chosen_squared";
    o->hash_seed = 0;
    o->feedback_window = 60.0;
    o->pending_capacity = 65536;
    o->store_queue = 65536;
    o->store_sync_full = 1;
    o->min_round_events = 1;
    o->round_wait = 30.0;
    o->give_up = 86400.0;
}

static char *copy_string(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static fcb_status copy_options(fcb_agent *a, const fcb_agent_options *o)
{
    a->options = *o;
    a->arch = copy_string(o->arch);
    a->policy_name = copy_string(o->policy);
    a->loss_name = copy_string(o->loss);
    a->store_path = copy_string(o->store_path);
    a->coordinator = copy_string(o->coordinator);
    a->tls_dir = copy_string(o->tls_dir);
    if ((o->arch && !a->arch) || (o->policy && !a->policy_name) || (o->loss && !a->loss_name) ||
        (o->store_path && !a->store_path) || (o->coordinator && !a->coordinator) || (o->tls_dir && !a->tls_dir))
        return fcb_fail(FCB_ERR_NOMEM, "agent: out of memory");
    a->options.arch = a->arch;
    a->options.policy = a->policy_name;
    a->options.loss = a->loss_name;
    a->options.store_path = a->store_path;
    a->options.coordinator = a->coordinator;
    a->options.tls_dir = a->tls_dir;
    return FCB_OK;
}

/* The plan of the options: what a local agent learns with, and the model a
 * federated one decides with until the coordinator's plan arrives. */
static fcb_status plan_from_options(const fcb_agent_options *o, fcb_client_plan *p)
{
    memset(p, 0, sizeof *p);
    if (!o->arch || !o->policy || !o->loss)
        return fcb_fail(FCB_ERR_CONFIG, "agent: arch, policy and loss must be set");
    fcb_status st = fcb_arch_from_name(o->arch, &p->model.arch);
    if (st != FCB_OK)
        return fcb_fail_context(st, "agent option arch");
    if (p->model.arch == FCB_ARCH_CNN)
        return fcb_fail(FCB_ERR_CONFIG, "agent option arch: cnn is not available in the agent (it has no image "
                                        "shape options); use linear or mlp");
    p->model.input_dim = o->input_dim;
    p->model.num_actions = o->num_actions;
    if (p->model.arch == FCB_ARCH_MLP) {
        p->model.num_hidden = 1;
        p->model.hidden[0] = o->hidden;
    }
    fcb_policy_kind kind;
    st = fcb_policy_kind_from_name(o->policy, &kind);
    if (st != FCB_OK)
        return fcb_fail_context(st, "agent option policy");
    if (fcb_policy_is_linear(kind))
        return fcb_fail(FCB_ERR_CONFIG, "agent option policy: %s is not available in the agent yet; use softmax, "
                                        "epsilon_greedy, igw, greedy or uniform", o->policy);
    fcb_policy_config_default(&p->policy, kind);
    p->policy.epsilon = o->epsilon;
    p->policy.temperature = o->temperature;
    p->policy.igw_gamma = o->igw_gamma;
    st = fcb_loss_kind_from_name(o->loss, &p->loss);
    if (st != FCB_OK)
        return fcb_fail_context(st, "agent option loss");
    p->local_epochs = o->local_epochs;
    p->batch_size = o->batch_size;
    p->sgd.learning_rate = o->learning_rate;
    p->seed = o->seed;
    p->examples_per_round = o->learn_every > 0 ? o->learn_every : 1;
    return fcb_client_plan_validate(p);
}

static fcb_status validate_options(const fcb_agent_options *o)
{
    if (o->input_dim < 1 || o->num_actions < 2)
        return fcb_fail(FCB_ERR_CONFIG, "agent: input_dim = %d and num_actions = %d (need >= 1 and >= 2)",
                        o->input_dim, o->num_actions);
    if (o->learn_every < 0)
        return fcb_fail(FCB_ERR_CONFIG, "agent: learn_every = %d must be >= 0", o->learn_every);
    if (!(o->feedback_window > 0.0) || !isfinite(o->feedback_window))
        return fcb_fail(FCB_ERR_CONFIG, "agent: feedback_window = %g must be a positive number of seconds",
                        o->feedback_window);
    if (o->pending_capacity < 1)
        return fcb_fail(FCB_ERR_CONFIG, "agent: pending_capacity = %d must be >= 1", o->pending_capacity);
    if (o->store_queue < 1)
        return fcb_fail(FCB_ERR_CONFIG, "agent: store_queue = %d must be >= 1", o->store_queue);
    if (o->store_max_rows < 0 || o->store_max_age < 0.0)
        return fcb_fail(FCB_ERR_CONFIG, "agent: store_max_rows and store_max_age must be >= 0");
    if (o->coordinator) {
        if (o->client_id < 0)
            return fcb_fail(FCB_ERR_CONFIG, "agent: client_id = %d must be >= 0", o->client_id);
        if (!o->insecure && !o->tls_dir)
            return fcb_fail(FCB_ERR_CONFIG, "agent: a coordinator needs tls_dir (or insecure = 1 on loopback)");
        if (o->min_round_events < 0 || !(o->round_wait >= 0.0) || !(o->give_up > 0.0))
            return fcb_fail(FCB_ERR_CONFIG, "agent: min_round_events, round_wait and give_up must be positive");
    }
    return FCB_OK;
}

static fcb_status init_model(fcb_agent *a)
{
    fcb_status st = fcb_model_init(&a->model, &a->plan.model);
    if (st != FCB_OK)
        return st;
    a->params = malloc(a->model.num_params * sizeof(float));
    if (!a->params)
        return fcb_fail(FCB_ERR_NOMEM, "agent: out of memory for %zu parameters", a->model.num_params);
    fcb_rng rng;
    fcb_rng_init(&rng, a->options.seed, FCB_STREAM_MODEL_INIT, 0, 0);
    st = fcb_model_init_params(&a->model, a->params, &rng);
    if (st != FCB_OK || !a->store)
        return st;
    int found = 0;
    int64_t version = 0;
    st = fcb_agent_store_load_model(a->store, &version, a->params, a->model.num_params, &found);
    if (st == FCB_OK && found)
        a->version = version;
    return st;
}

static fcb_status init_events(fcb_agent *a)
{
    int p = a->options.pending_capacity, d = a->options.input_dim;
    a->slots = calloc((size_t)p, sizeof *a->slots);
    a->slot_x = malloc((size_t)p * (size_t)d * sizeof(float));
    if (!a->slots || !a->slot_x)
        return fcb_fail(FCB_ERR_NOMEM, "agent: out of memory for %d pending events", p);
    return fcb_agent_batch_init(&a->resolved.rows, p, d);
}

/* One stored decision at open: pending, rewarded or expired. */
static fcb_status resume_row(void *context, const fcb_store_decision *d, int has_feedback, float reward,
                             double feedback_time)
{
    (void)feedback_time;
    fcb_agent *a = context;
    if (d->event_id >= a->next_id)
        a->next_id = d->event_id + 1;
    fcb_event_slot *s = &a->slots[d->event_id % (uint64_t)a->options.pending_capacity];
    if (s->state == FCB_EVENT_PENDING) {
        fcb_events_resolve(a, s->id, a->slot_x + (size_t)(s - a->slots) * a->options.input_dim, s->action,
                           s->propensity, 0.0f);
        atomic_fetch_add(&a->expired, 1);
    }
    int state = has_feedback ? FCB_EVENT_REWARDED : FCB_EVENT_PENDING;
    *s = (fcb_event_slot){d->event_id, d->time, d->version, d->action, d->propensity, state};
    if (has_feedback) {
        fcb_events_resolve(a, d->event_id, d->context, d->action, d->propensity, reward);
        return FCB_OK;
    }
    memcpy(a->slot_x + (size_t)(s - a->slots) * a->options.input_dim, d->context,
           (size_t)a->options.input_dim * sizeof(float));
    if (a->oldest_unresolved == 0 || d->event_id < a->oldest_unresolved)
        a->oldest_unresolved = d->event_id;
    return FCB_OK;
}

static fcb_status open_store(fcb_agent *a)
{
    if (!a->options.store_path)
        return FCB_OK;
    fcb_agent_store_options so = {
        .path = a->options.store_path,
        .input_dim = a->options.input_dim,
        .num_actions = a->options.num_actions,
        .sync_full = a->options.store_sync_full,
        .max_rows = a->options.store_max_rows,
        .max_age = a->options.store_max_age,
        .queue_capacity = a->options.store_queue,
    };
    return fcb_agent_store_open(&so, &a->store);
}

static fcb_status resume(fcb_agent *a)
{
    a->next_id = 1;
    if (!a->store)
        return FCB_OK;
    a->next_id = fcb_agent_store_last_event_id(a->store) + 1;
    fcb_status st = fcb_agent_store_scan(a->store, resume_row, a);
    if (st != FCB_OK)
        return st;
    if (a->oldest_unresolved == 0)
        a->oldest_unresolved = a->next_id;
    fcb_events_expire(a, fcb_epoch_seconds());
    return FCB_OK;
}

static void free_agent(fcb_agent *a)
{
    fcb_agent_batch_free(&a->resolved.rows);
    free(a->slots);
    free(a->slot_x);
    free(a->params);
    free(a->arch);
    free(a->policy_name);
    free(a->loss_name);
    free(a->store_path);
    free(a->coordinator);
    free(a->tls_dir);
    pthread_rwlock_destroy(&a->model_lock);
    pthread_mutex_destroy(&a->events_lock);
    pthread_cond_destroy(&a->events_changed);
    free(a);
}

fcb_status fcb_agent_open_with(const fcb_agent_options *options, fcb_learner_main federation, fcb_agent **out)
{
    *out = NULL;
    if (!options)
        return fcb_fail(FCB_ERR_ARG, "agent: no options");
    fcb_status st = validate_options(options);
    if (st != FCB_OK)
        return st;
    fcb_agent *a = calloc(1, sizeof *a);
    if (!a)
        return fcb_fail(FCB_ERR_NOMEM, "agent: out of memory");
    pthread_rwlock_init(&a->model_lock, NULL);
    pthread_mutex_init(&a->events_lock, NULL);
    pthread_cond_init(&a->events_changed, NULL);
    st = copy_options(a, options);
    if (st == FCB_OK)
        st = plan_from_options(&a->options, &a->plan);
    a->policy = a->plan.policy;
    if (st == FCB_OK)
        st = open_store(a);
    if (st == FCB_OK)
        st = init_model(a);
    if (st == FCB_OK)
        st = init_events(a);
    if (st == FCB_OK)
        st = resume(a);
    a->federated = options->coordinator != NULL;
    fcb_learner_main learner = a->federated ? federation : (options->learn_every > 0 ? fcb_agent_local_learner : NULL);
    if (st == FCB_OK && a->federated && !federation)
        st = fcb_fail(FCB_ERR_STATE, "agent: this build has no networked client for coordinator %s",
                      options->coordinator);
    if (st == FCB_OK && learner) {
        atomic_store(&a->learner_running, 1);
        if (pthread_create(&a->learner, NULL, learner, a) != 0) {
            atomic_store(&a->learner_running, 0);
            st = fcb_fail(FCB_ERR_STATE, "agent: cannot start the learner thread");
        } else {
            a->learner_started = 1;
        }
    }
    if (st != FCB_OK) {
        if (a->store)
            fcb_agent_store_close(a->store);
        free_agent(a);
        return st;
    }
    *out = a;
    return FCB_OK;
}

/* A uniform in [0, 1) from (seed, event id) alone, whatever the thread. */
static double event_uniform(uint64_t seed, uint64_t id)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + id;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static int sample_action(const float *probs, int k, double u)
{
    double c = 0.0;
    for (int i = 0; i < k; i++) {
        c += probs[i];
        if (u < c)
            return i;
    }
    for (int i = k - 1; i > 0; i--)
        if (probs[i] > 0.0f)
            return i;
    return 0;
}

/* The events lock is held for well under a microsecond per decision. A
 * thread that finds it taken tries again for a while before sleeping in
 * the kernel: with 2 threads deciding, sleeping on it and being woken made
 * the p99 of decide 22-34 us instead of 1.8-2.7 us (docs/performance.md,
 * "Agent"). glibc's PTHREAD_MUTEX_ADAPTIVE_NP, tried instead, left the p99.9
 * at 38 us against 2.4 us here. */
enum { EVENTS_LOCK_TRIES = 100 };

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void lock_events(fcb_agent *a)
{
    for (int i = 0; i < EVENTS_LOCK_TRIES; i++) {
        if (pthread_mutex_trylock(&a->events_lock) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&a->events_lock);
}

/* scores -> probabilities with the model's policy, under the read lock. */
static fcb_status score(fcb_agent *a, const float *x, float *probs, int64_t *version)
{
    float stack[ROW_STACK_FLOATS], scores[FCB_MAX_ACTIONS];
    pthread_rwlock_rdlock(&a->model_lock);
    size_t need = fcb_model_row_scratch(&a->model);
    float *scratch = need <= ROW_STACK_FLOATS ? stack : malloc(need * sizeof(float));
    fcb_status st = scratch ? FCB_OK : fcb_fail(FCB_ERR_NOMEM, "agent: out of memory");
    if (st == FCB_OK)
        st = fcb_model_score_row(&a->model, a->params, x, scratch, scores);
    if (st == FCB_OK)
        st = fcb_policy_probs(&a->policy, scores, a->model.config.num_actions, probs);
    *version = a->version;
    pthread_rwlock_unlock(&a->model_lock);
    if (scratch != stack)
        free(scratch);
    return st;
}

fcb_status fcb_agent_decide(fcb_agent *a, const float *x, int dim, fcb_decision *out)
{
    if (!a || !x || !out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_decide: NULL argument");
    int d = a->options.input_dim, k = a->options.num_actions;
    if (dim != d)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_decide: context of %d values, the model takes %d", dim, d);
    float probs[FCB_MAX_ACTIONS];
    int64_t version;
    fcb_status st = score(a, x, probs, &version);
    if (st != FCB_OK)
        return fcb_fail_context(st, "fcb_agent_decide");
    double now = fcb_epoch_seconds();
    lock_events(a);
    uint64_t id = a->next_id++;
    int action = sample_action(probs, k, event_uniform(a->options.seed, id));
    size_t slot = (size_t)(id % (uint64_t)a->options.pending_capacity);
    fcb_event_slot *s = &a->slots[slot];
    float *sx = a->slot_x + slot * (size_t)d;
    if (s->state == FCB_EVENT_PENDING) { /* the oldest pending event: out of room, it counts as 0 */
        fcb_events_resolve(a, s->id, sx, s->action, s->propensity, 0.0f);
        atomic_fetch_add(&a->expired, 1);
    }
    *s = (fcb_event_slot){id, now, version, action, probs[action], FCB_EVENT_PENDING};
    memcpy(sx, x, (size_t)d * sizeof(float));
    pthread_mutex_unlock(&a->events_lock);
    atomic_fetch_add(&a->decisions, 1);
    *out = (fcb_decision){action, probs[action], id, version};
    if (!a->store)
        return FCB_OK;
    fcb_store_decision row = {id, now, version, action, probs[action], x};
    return fcb_agent_store_put_decision(a->store, &row);
}

fcb_status fcb_agent_decide_features(fcb_agent *a, const char *features, fcb_decision *out)
{
    if (!a || !features || !out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_decide_features: NULL argument");
    int d = a->options.input_dim;
    float stack[ROW_STACK_FLOATS];
    float *x = d <= ROW_STACK_FLOATS ? stack : malloc((size_t)d * sizeof(float));
    if (!x)
        return fcb_fail(FCB_ERR_NOMEM, "fcb_agent_decide_features: out of memory");
    fcb_status st = fcb_hash_features(features, a->options.hash_seed, x, d);
    if (st == FCB_OK)
        st = fcb_agent_decide(a, x, d, out);
    else
        fcb_fail_context(st, "fcb_agent_decide_features");
    if (x != stack)
        free(x);
    return st;
}

fcb_status fcb_agent_feedback(fcb_agent *a, uint64_t id, float reward)
{
    if (!a)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_feedback: NULL agent");
    if (!isfinite(reward))
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_feedback: event %llu: reward is not finite", (unsigned long long)id);
    double now = fcb_epoch_seconds();
    lock_events(a);
    fcb_events_expire(a, now);
    fcb_status st = FCB_OK;
    fcb_event_slot *s = &a->slots[id % (uint64_t)a->options.pending_capacity];
    if (id == 0 || id >= a->next_id)
        st = fcb_fail(FCB_ERR_ARG, "fcb_agent_feedback: event %llu was never issued", (unsigned long long)id);
    else if (s->id != id || s->state == FCB_EVENT_EXPIRED)
        st = fcb_fail(FCB_ERR_ARG, "fcb_agent_feedback: event %llu is past its feedback window (it counted as "
                                   "reward 0)", (unsigned long long)id);
    else if (s->state == FCB_EVENT_REWARDED)
        st = fcb_fail(FCB_ERR_ARG, "fcb_agent_feedback: event %llu already has feedback", (unsigned long long)id);
    if (st == FCB_OK) {
        size_t slot = (size_t)(s - a->slots);
        fcb_events_resolve(a, id, a->slot_x + slot * (size_t)a->options.input_dim, s->action, s->propensity,
                           reward);
        s->state = FCB_EVENT_REWARDED;
    }
    pthread_mutex_unlock(&a->events_lock);
    if (st != FCB_OK)
        return st;
    atomic_fetch_add(&a->feedback, 1);
    return a->store ? fcb_agent_store_put_feedback(a->store, id, reward, now) : FCB_OK;
}

fcb_status fcb_agent_flush(fcb_agent *a)
{
    if (!a)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_flush: NULL agent");
    return a->store ? fcb_agent_store_flush(a->store) : FCB_OK;
}

fcb_status fcb_agent_close(fcb_agent *a)
{
    if (!a)
        return FCB_OK;
    atomic_store(&a->stop, 1);
    pthread_mutex_lock(&a->events_lock);
    a->stopping = 1;
    pthread_cond_broadcast(&a->events_changed);
    pthread_mutex_unlock(&a->events_lock);
    if (a->learner_started)
        pthread_join(a->learner, NULL);
    fcb_status st = FCB_OK;
    if (a->store) {
        st = fcb_agent_store_close(a->store);
        a->store = NULL;
    }
    if (st == FCB_OK && a->learner_error[0])
        st = fcb_fail(FCB_ERR_STATE, "agent: the learner had stopped: %s", a->learner_error);
    free_agent(a);
    return st;
}

void fcb_agent_deploy(fcb_agent *a, const float *params, int64_t version)
{
    pthread_rwlock_wrlock(&a->model_lock);
    memcpy(a->params, params, a->model.num_params * sizeof(float));
    a->version = version;
    pthread_rwlock_unlock(&a->model_lock);
    if (a->store && fcb_agent_store_save_model(a->store, version, params, a->model.num_params) != FCB_OK)
        fcb_log("agent", "cannot save model version %lld: %s", (long long)version, fcb_last_error());
}

fcb_status fcb_agent_adopt_plan(fcb_agent *a, const fcb_client_plan *plan, const float *params, int64_t version)
{
    if (plan->model.input_dim != a->options.input_dim || plan->model.num_actions != a->options.num_actions)
        return fcb_fail(FCB_ERR_CONFIG, "the coordinator's model takes %d inputs and %d actions; this agent was "
                                        "opened with input_dim %d and num_actions %d", plan->model.input_dim,
                        plan->model.num_actions, a->options.input_dim, a->options.num_actions);
    if (fcb_policy_is_linear(plan->policy.kind))
        return fcb_fail(FCB_ERR_CONFIG, "the coordinator runs policy %s, which the agent does not offer yet",
                        fcb_policy_kind_name(plan->policy.kind));
    fcb_model model;
    fcb_status st = fcb_model_init(&model, &plan->model);
    float *fresh = st == FCB_OK ? malloc(model.num_params * sizeof(float)) : NULL;
    if (st == FCB_OK && !fresh)
        st = fcb_fail(FCB_ERR_NOMEM, "agent: out of memory for the coordinator's model");
    if (st != FCB_OK)
        return st;
    memcpy(fresh, params, model.num_params * sizeof(float));
    pthread_rwlock_wrlock(&a->model_lock);
    float *old = a->params;
    a->model = model;
    a->params = fresh;
    a->policy = plan->policy;
    a->version = version;
    pthread_rwlock_unlock(&a->model_lock);
    free(old);
    a->plan = *plan;
    return FCB_OK;
}

void fcb_agent_set_learner_error(fcb_agent *a, const char *message)
{
    snprintf(a->learner_error, sizeof a->learner_error, "%s", message);
}

fcb_status fcb_agent_stats_get(const fcb_agent *agent, fcb_agent_stats *out)
{
    if (!agent || !out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_stats_get: NULL argument");
    fcb_agent *a = (fcb_agent *)agent;
    memset(out, 0, sizeof *out);
    out->model_version = fcb_agent_model_version(a);
    out->decisions = atomic_load(&a->decisions);
    out->feedback = atomic_load(&a->feedback);
    out->expired = atomic_load(&a->expired);
    out->rounds = atomic_load(&a->rounds);
    out->store_waits = a->store ? fcb_agent_store_waits(a->store) : 0;
    out->federated = a->federated;
    out->learner_running = atomic_load(&a->learner_running);
    return FCB_OK;
}

int fcb_agent_input_dim(const fcb_agent *a)
{
    return a->options.input_dim;
}

int fcb_agent_num_actions(const fcb_agent *a)
{
    return a->options.num_actions;
}

int64_t fcb_agent_model_version(const fcb_agent *agent)
{
    fcb_agent *a = (fcb_agent *)agent;
    pthread_rwlock_rdlock(&a->model_lock);
    int64_t v = a->version;
    pthread_rwlock_unlock(&a->model_lock);
    return v;
}

const char *fcb_agent_learner_error(const fcb_agent *a)
{
    return atomic_load(&((fcb_agent *)a)->learner_running) ? "" : a->learner_error;
}
