#ifndef FEDCB_PUBLIC_FEDCB_H
#define FEDCB_PUBLIC_FEDCB_H

/* libfedcb: a federated contextual-bandit agent to embed in an
 * application. See fedcb/agent.h and docs/embedding.md. */
#include "fedcb/version.h"
#include "fedcb/status.h"
#include "fedcb/agent.h"

#endif
