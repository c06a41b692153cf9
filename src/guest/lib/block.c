/* SPDX-License-Identifier: MIT */
#include "lib/block.h"

bool block_port;

void block_port_detect(void)
{
	block_port = inl(GUEST_PORT_BLOCK) == GUEST_BLOCK_MAGIC;
}
