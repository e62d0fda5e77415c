#ifndef FEDCB_AGENT_FEDERATION_H
#define FEDCB_AGENT_FEDERATION_H

#include "agent_internal.h"

/* The learner thread of an agent with a coordinator (fcb_learner_main). */
void *fcb_agent_federation_learner(void *agent);

#endif
