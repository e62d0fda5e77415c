/* `fedcb evaluate`: a model file's accuracy on a labelled file, apart from
 * any run (the operator's own measurement of a deployed model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "config_file.h"
#include "data_file.h"
#include "file_evaluator.h"
#include "model_file.h"
#include "world.h"

static fcb_status evaluate(const fcb_config *c, const char *model_path, const char *data_path, const char *format_name,
                           double *accuracy, int *n)
{
    fcb_data_format format;
    fcb_dataset data = {0};
    fcb_model model;
    fcb_model_config mc;
    float *params = NULL;
    fcb_status st = fcb_data_format_resolve(format_name, data_path, &format);
    if (st == FCB_OK)
        st = fcb_data_load_labelled(data_path, format, c->model_input_dim, c->model_num_actions, &data);
    if (st == FCB_OK)
        st = fcb_model_config_from(c, data.d, c->model_num_actions ? c->model_num_actions : data.k, &mc);
    if (st == FCB_OK)
        st = fcb_model_init(&model, &mc);
    if (st == FCB_OK && !(params = malloc(model.num_params * sizeof(float))))
        st = fcb_fail(FCB_ERR_NOMEM, "evaluate: out of memory");
    if (st == FCB_OK)
        st = fcb_model_file_read(model_path, model.num_params, params);
    fcb_model_scorer ms;
    if (st == FCB_OK && (st = fcb_model_scorer_init(&ms, &model, params)) == FCB_OK) {
        fcb_scorer scorer = fcb_model_scorer_as_scorer(&ms);
        st = fcb_labelled_accuracy(&data, &scorer, accuracy, NULL);
        fcb_model_scorer_free(&ms);
    }
    *n = data.n;
    free(params);
    fcb_dataset_free(&data);
    return st;
}

int fcb_command_evaluate(int argc, char **argv)
{
    const char *command = "evaluate";
    fcb_config_args ca = {0};
    const char *model = NULL, *data = NULL, *format = "auto";
    fcb_value_option options[] = {{"--model", &model}, {"--data", &data}, {"--data-format", &format}};
    int rc = fcb_parse_value_options(argc, argv, command, &ca, options, 3);
    if (rc != 0)
        return rc;
    if (!model || !data)
        return fcb_usage_error(command, "--model FILE and --data FILE are required");
    fcb_config config;
    rc = fcb_load_config(&ca, command, 1, &config);
    if (rc != 0)
        return rc;
    double accuracy = 0.0;
    int n = 0;
    fcb_status st = evaluate(&config, model, data, format, &accuracy, &n);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: evaluate: %s\n", fcb_last_error());
        return 1;
    }
    printf("test_accuracy=%.4f examples=%d model=%s data=%s\n", accuracy, n, model, data);
    return 0;
}
