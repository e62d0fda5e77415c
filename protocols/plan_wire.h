#ifndef FEDCB_PLAN_WIRE_H
#define FEDCB_PLAN_WIRE_H

#include "client_plan.h"
#include "fedcb.pb-c.h"

/* A client plan on the wire (RegisterReply.plan). */

/* The model spec's lists; storage that must outlive the message. */
typedef struct {
    uint32_t hidden[FCB_MAX_HIDDEN];
    uint32_t image_shape[3];
    uint32_t conv_channels[FCB_MAX_CONV];
} fcb_model_spec_lists;

/* Fills m (and spec, lists: storage that must outlive m) from plan. */
void fcb_plan_to_wire(const fcb_client_plan *plan, Fedcb__ClientPlan *m, Fedcb__ModelSpec *spec,
                      fcb_model_spec_lists *lists);

/* The plan of a decoded (fcb_decode_register_reply) message, validated. */
fcb_status fcb_plan_from_wire(const Fedcb__ClientPlan *m, fcb_client_plan *plan);

#endif
