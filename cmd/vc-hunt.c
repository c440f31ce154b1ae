/* SPDX-License-Identifier: MIT */
/*
 * vc-hunt - the tenant's Velociraptor over its gRPC API: clients,
 * collections, hunts and their results.  See vc-hunt(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-hunt", argc, argv);
}
