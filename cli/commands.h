#ifndef FEDCB_COMMANDS_H
#define FEDCB_COMMANDS_H

/* The fedcb subcommands; each returns the process's exit status (0, 1 on a
 * failure, 2 on bad usage) after writing its one-line error. */
int fcb_command_simulate(int argc, char **argv);
int fcb_command_coordinator(int argc, char **argv);
int fcb_command_client(int argc, char **argv);
int fcb_command_bench(int argc, char **argv);
int fcb_command_ope(int argc, char **argv);
int fcb_command_pretrain(int argc, char **argv);
int fcb_command_evaluate(int argc, char **argv);
int fcb_command_partition(int argc, char **argv);

#endif
