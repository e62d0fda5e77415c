#ifndef FEDCB_CONFIG_H
#define FEDCB_CONFIG_H

#include <stdint.h>

#include "status.h"

/* Every knob of a run: the simulated world's (data, scenario, clients,
 * feedback, drift, attacks) and the program's (rounds, policy, training,
 * server, network). The command-line program reads it from an INI file
 * (cli/config_file.c, whose key table names every key) and translates it
 * into the libraries' own structs; the client and coordinator libraries
 * never see it. Enumerations stay strings here and are resolved by the
 * module that owns them. */

enum { FCB_CONFIG_PATH_MAX = 1024, FCB_CONFIG_NAME_MAX = 64, FCB_CONFIG_LIST_MAX = 16 };

typedef struct {
    /* [run] */
    uint64_t seed;
    int rounds;
    int threads;
    int eval_every;
    int wall_clock;        /* 0: write seconds = 0, so metrics.jsonl is byte-reproducible */
    int log_interactions;  /* 1: simulate writes DIR/interactions.csv.gz for off-policy evaluation */
    int log_vw;            /* 1: simulate writes each client's decisions to DIR/logs/client-N.vw */
    /* [data] */
    char data_source[FCB_CONFIG_NAME_MAX]; /* fashion_mnist | synthetic | libsvm | vw */
    char data_path[FCB_CONFIG_PATH_MAX];
    char data_test_path[FCB_CONFIG_PATH_MAX];
    char data_cache_dir[FCB_CONFIG_PATH_MAX]; /* libsvm/vw: binary caches of the parsed files; empty: none */
    double test_fraction;
    double validation_fraction; /* rows carved from train for validation; 0 = none */
    int standardize;       /* z-score every feature with the training mean and std */
    int data_dim;
    int data_classes;
    int synthetic_train;
    int synthetic_test;
    int synthetic_dim;
    int synthetic_classes;
    int synthetic_nonlinear;
    double synthetic_noise;
    /* [scenario] */
    char scenario[FCB_CONFIG_NAME_MAX];    /* scratch | init | init-shift */
    int pretrain_clients;
    int pretrain_epochs;
    double pretrain_learning_rate;
    int pretrain_batch_size;
    double partial_reward;
    char merge_classes[FCB_CONFIG_NAME_MAX]; /* init-shift: child:parent pairs, e.g. 6:0,2:4,7:9 */
    /* [clients] */
    int num_clients;
    int clients_per_round;
    int examples_per_round;
    double dirichlet_alpha;
    double size_sigma;
    double feature_skew;
    double participation;
    double dropout;
    double straggler_fraction;
    double straggler_delay;   /* simulated seconds a straggler needs */
    double round_deadline;    /* simulated seconds; a later update is stale */
    /* [model] */
    char arch[FCB_CONFIG_NAME_MAX];        /* linear | mlp | cnn */
    int hidden[FCB_CONFIG_LIST_MAX];
    int num_hidden;
    int image_shape[FCB_CONFIG_LIST_MAX];  /* cnn: H,W,C; empty or 0: a square single-channel image */
    int num_image_shape;
    int conv_channels[FCB_CONFIG_LIST_MAX]; /* cnn: filters per conv layer */
    int num_conv_channels;
    int normalize_input;
    int model_input_dim;   /* real deployments: the context dimension (simulated: the data's) */
    int model_num_actions; /* real deployments: the number of actions (simulated: the data's classes) */
    char model_init[FCB_CONFIG_PATH_MAX]; /* real deployments: a model.bin to start from ("": random) */
    /* [policy] */
    char policy[FCB_CONFIG_NAME_MAX];
    double epsilon;
    double temperature;
    double igw_mu;
    double igw_gamma;
    double ucb_alpha;
    double ts_scale;
    double ridge_lambda;
    int diagonal;
    int propensity_samples;
    char ts_propensity[FCB_CONFIG_NAME_MAX]; /* thompson: exact | monte_carlo */
    char ts_sample[FCB_CONFIG_NAME_MAX];     /* thompson: decision | round */
    int deploy_every;
    char forgetting[FCB_CONFIG_NAME_MAX]; /* linucb/thompson: none | discount | window */
    double discount;        /* forgetting = discount: gamma per round */
    int window;             /* forgetting = window: rounds kept */
    /* [train] */
    char loss[FCB_CONFIG_NAME_MAX];
    int local_epochs;
    int batch_size;
    double learning_rate;
    double momentum;
    double weight_decay;
    double clip_norm;
    double max_weight;      /* importance weights: 0 = unclipped, else at most this */
    int scale_weights;      /* epsilon-greedy: importance weights times epsilon / K (at most 1) */
    /* [server] */
    char server_optimizer[FCB_CONFIG_NAME_MAX];
    double server_learning_rate;
    double server_momentum;
    double server_beta1;
    double server_beta2;
    double server_tau;
    int server_bias_correction; /* adam: Kingma & Ba / Keras bias correction */
    char weighting[FCB_CONFIG_NAME_MAX];
    double update_norm_bound;
    /* [feedback] */
    char feedback_mode[FCB_CONFIG_NAME_MAX]; /* exact | click */
    double p_click;
    double p_false;
    double noise_spread;
    /* [drift] */
    char drift[FCB_CONFIG_NAME_MAX];
    int drift_start;
    int drift_duration;
    int drift_period;
    double drift_strength;
    int late_classes[FCB_CONFIG_LIST_MAX];
    int num_late_classes;
    /* [preference] */
    int pref_rounds;          /* preference rounds after the run.rounds bandit rounds; 0 = none */
    char pref_loss[FCB_CONFIG_NAME_MAX];     /* dpo | ipo | rdpo | distill */
    double pref_temperature;  /* pi_theta = softmax(f / temperature) */
    double pref_beta;
    double pref_ipo_tau;
    double pref_rdpo_flip_rate; /* rdpo's assumed flip rate; < 0: flip_rate */
    double pref_bt_temperature; /* Bradley-Terry T of the simulated user; 0 = deterministic */
    double pref_flip_rate;    /* probability a stated preference is flipped */
    double pref_learning_rate;
    int pref_local_epochs;
    char pref_reward_models[FCB_CONFIG_PATH_MAX]; /* distill: comma-separated run directories */
    char pref_ensemble[FCB_CONFIG_NAME_MAX];  /* pessimistic | mean */
    double pref_reward_scale; /* distill target = scale * reward difference */
    /* [dp] DP-FedAvg (coordinator/dp_clip.h, dp_accountant.h) */
    int dp_enabled;
    double dp_noise_multiplier;   /* z: the total noise multiplier the accountant charges */
    double dp_clip_norm;          /* C; the starting C when adaptive */
    int dp_adaptive;              /* move C towards the target quantile of the update norms */
    double dp_target_quantile;
    double dp_clip_learning_rate;
    double dp_clipped_count_stddev;
    double dp_delta;              /* the delta epsilon is reported at; 0 = 1 / num_clients^1.1 */
    /* [aggregation] */
    char aggregation[FCB_CONFIG_NAME_MAX]; /* mean | median | trimmed_mean | norm_bound */
    double trim_fraction;
    double aggregation_max_norm;
    /* [malicious] (simulations/malicious.h) */
    char malicious[FCB_CONFIG_NAME_MAX];   /* none | sign_flip | scale | noise */
    double malicious_fraction;
    double malicious_scale;
    /* [network] (fedcb coordinator / fedcb client only) */
    double round_timeout;  /* seconds the coordinator waits for a round's updates */
    double quorum;         /* fraction of the sampled clients whose updates make a round */
    int min_clients;       /* registered clients before the first round; 0 = clients_per_round */
    int max_attempts;      /* samples of one round before the run fails */
    int poll_ms;           /* long-poll wait of a task request */
    double linger;         /* seconds the coordinator answers "done" after the last round */
    char network_mode[FCB_CONFIG_NAME_MAX]; /* simulated | real */
    char eval_data[FCB_CONFIG_PATH_MAX];    /* real: a labelled file the coordinator evaluates on ("": none) */
    /* [client] (fedcb client only) */
    char client_data[FCB_CONFIG_PATH_MAX];   /* real: the client's own data file */
    char client_data_format[FCB_CONFIG_NAME_MAX]; /* auto | cb | vw | libsvm */
} fcb_config;

#endif
