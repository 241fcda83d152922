/* One entry point per command, each in cmd_<name>.c. */
#ifndef HY_CLI_COMMANDS_H
#define HY_CLI_COMMANDS_H

int cmd_scan(int argc, char **argv);
int cmd_reshard(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_prompts(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
