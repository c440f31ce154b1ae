/* SPDX-License-Identifier: MIT */
/*
 * vc-auth - tenants, users, logins, API tokens and the audit log.
 * Every command is an operation of lib/ops.c; see vc-auth(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-auth", argc, argv);
}
