/* SPDX-License-Identifier: Apache-2.0 */
/* Drop reason codes, negated: io.septum.api.datapath.DropReason uses the same numbers (Cilium's). */
#ifndef SEPTUM_DROP_H
#define SEPTUM_DROP_H

#define DROP_POLICY (-133)
#define DROP_INVALID (-134)
#define DROP_CT_UNKNOWN (-137)
#define DROP_UNSUPPORTED_L3 (-139)
#define DROP_WRITE_ERROR (-141)
#define DROP_NO_SERVICE (-158)
#define DROP_POLICY_DENY (-181)
#define DROP_PROXY_UNAVAILABLE (-183)

#endif
