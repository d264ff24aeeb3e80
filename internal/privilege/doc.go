// Package privilege gives up what tcpprobe no longer needs once its raw
// sockets are open (issue 6, "Privilege"). CAP_NET_RAW is needed only to
// open AF_PACKET sockets; an open socket keeps working without it. Drop,
// called after the sockets are open and the next hops resolved, turns a
// root process into the user who ran sudo (SUDO_UID/SUDO_GID) or nobody,
// clears every capability of every thread and sets no_new_privs; a
// non-root process holding file capabilities (setcap cap_net_raw+ep) just
// clears them. Status reads back what each thread holds, from /proc.
package privilege
