/* SPDX-License-Identifier: MIT */
/*
 * vc-score - explainable threat scoring: Sigma rules, IOCs, heuristics,
 * rarity stacking and an outlier model.  See vc-score(1).
 */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return vc_cli_main("vc-score", argc, argv);
}
