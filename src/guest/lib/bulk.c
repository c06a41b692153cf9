/* SPDX-License-Identifier: MIT */
#include "lib/bulk.h"

bool bulk_port;

void bulk_port_detect(void)
{
	bulk_port = inl(GUEST_PORT_BULK) == GUEST_BULK_MAGIC;
}
