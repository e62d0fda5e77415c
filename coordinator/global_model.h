#ifndef FEDCB_GLOBAL_MODEL_H
#define FEDCB_GLOBAL_MODEL_H

#include <stddef.h>

#include "aggregation_rule.h"
#include "checkpoint_io.h"
#include "linear_forgetting.h"
#include "model.h"
#include "model_scorer.h"
#include "server_optimizer.h"
#include "update_buffer.h"

/* The model the coordinator trains, behind one interface for both kinds of
 * update a client sends: a score model's parameter delta (merged by an
 * aggregation rule, then the server optimiser; score_model.c) or a linear
 * bandit's sufficient statistics (summed exactly into the posterior of the
 * deployed and current models; linear_model.c). Every other coordinator
 * module is written once, against this interface. */

typedef struct fcb_global_model fcb_global_model;

/* One model as it is sent to clients. */
typedef struct {
    const float *params;  /* score models: num_params floats */
    const double *stats;  /* linear bandits: the flat statistics */
    size_t count;
} fcb_model_view;

typedef struct {
    int clipped;          /* DP: updates clipped this round */
    double clip_norm;     /* DP: the C they were clipped to */
} fcb_merge_report;

typedef struct {
    /* Where the update of slot `slot` goes (in-process clients write here;
     * the network decodes into it). */
    fcb_update_buffer (*slot_update)(fcb_global_model *gm, int slot);
    /* Validates a stored update before it is merged: FCB_ERR_ARG naming the
     * client when it must be rejected. */
    fcb_status (*check)(fcb_global_model *gm, int slot, int client, double examples);
    /* Merges the accepted slots (in client-id order) into the current model. */
    fcb_status (*merge)(fcb_global_model *gm, const int *slots, const int *clients, const double *examples,
                        int count, int round, fcb_merge_report *report);
    /* The current model becomes the deployed one. */
    fcb_status (*deploy)(fcb_global_model *gm);
    fcb_model_view (*deployed)(const fcb_global_model *gm);
    fcb_model_view (*current)(const fcb_global_model *gm);
    /* Scores of the current model (greedy view), for evaluations. */
    fcb_status (*scorer_open)(fcb_global_model *gm, fcb_scorer *scorer);
    void (*scorer_close)(fcb_global_model *gm);
    /* SHA-256 of the current model's bytes (parameters, or statistics). */
    fcb_status (*digest)(const fcb_global_model *gm, char hex[65]);
    fcb_status (*save)(const fcb_global_model *gm, fcb_ckpt_writer *w);
    fcb_status (*load)(fcb_global_model *gm, fcb_ckpt_reader *r);
    void (*free)(fcb_global_model *gm);
} fcb_global_model_ops;

struct fcb_global_model {
    const fcb_global_model_ops *ops;
    const char *update_kind;   /* "delta" | "linstats": the capability a client must have */
    const fcb_model *model;
    size_t update_size;        /* values in one update */
    size_t model_bytes;        /* bytes of one update (and of one score model) as sent */
    size_t download_bytes;     /* bytes a sampled client receives per round */
    const fcb_aggregation_rule *rule; /* score models; NULL for linear bandits */
};

typedef struct {
    const fcb_model *model;
    const float *initial_params;   /* score models start here; linear bandits' base network and prior */
    int capacity;                  /* most updates per round */
    int deploy_every;
    /* score models */
    fcb_server_opt_config server;
    double update_norm_bound;      /* 0 = none */
    fcb_aggregation_config aggregation;
    /* linear bandits */
    double ridge_lambda;
    int diagonal;
    fcb_linforget_config forgetting;
} fcb_global_model_config;

fcb_status fcb_score_model_create(const fcb_global_model_config *config, fcb_global_model **out);
fcb_status fcb_linear_model_create(const fcb_global_model_config *config, fcb_global_model **out);
void fcb_global_model_destroy(fcb_global_model *gm);

#endif
