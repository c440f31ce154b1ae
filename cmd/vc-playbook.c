/* SPDX-License-Identifier: MIT */
/*
 * vc-playbook - automated response: playbooks, their plans, executions
 * and the blocklist.  Every command is an operation of lib/ops/table.c;
 * see vc-playbook(1) and vc-playbook(5).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-playbook", argc, argv);
}
