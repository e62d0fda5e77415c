/* `fedcb pretrain`: the scenario's supervised pretraining alone, written as
 * a model file a coordinator can start from (model.init). */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "config_file.h"
#include "model_file.h"
#include "world.h"

int fcb_command_pretrain(int argc, char **argv)
{
    const char *command = "pretrain";
    const char *out;
    fcb_config config;
    int rc = fcb_parse_config_out(argc, argv, command, "FILE", &config, &out);
    if (rc != 0)
        return rc;
    fcb_world world;
    int built = 0;
    fcb_status st = FCB_OK;
    if (strcmp(config.scenario, "scratch") == 0)
        st = fcb_fail(FCB_ERR_CONFIG, "scenario.kind = scratch has no pretraining; use init or init-shift");
    if (st == FCB_OK) {
        st = fcb_world_build(&world, &config);
        built = st == FCB_OK;
    }
    if (st == FCB_OK)
        st = fcb_model_file_write(out, world.initial_params, world.model.num_params);
    if (st == FCB_OK)
        printf("pretrained %s model (%d inputs, %d actions, %zu parameters) on %d examples: test accuracy %.4f; "
               "written to %s\n",
               config.arch, world.model.config.input_dim, world.model.config.num_actions, world.model.num_params,
               world.num_pretrain_rows, world.pretrain_accuracy, out);
    if (built)
        fcb_world_free(&world);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: pretrain: %s\n", fcb_last_error());
        return 1;
    }
    return 0;
}
