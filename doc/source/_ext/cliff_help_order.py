"""``autoprogram-cliff`` listing options in the order of ``--help``.

cliff's directive lists a parser's options in the order they were added.
A cliff display command adds its output formatter options (``-f``,
``-c``, ...) in ``get_parser`` before the command adds its own, so the
page led with them.  ``--help`` prints option groups instead: the
command's own options first, then the formatter groups.  This directive
orders the options by group the same way before cliff formats them.
"""


def order_by_group(parser):
    """Put ``parser``'s actions in the order of its argument groups."""
    ordered = []
    for group in parser._action_groups:
        ordered.extend(action for action in group._group_actions
                       if action not in ordered)
    ordered.extend(action for action in parser._actions
                   if action not in ordered)
    parser._actions[:] = ordered


def setup(app):
    # Imported here, so that order_by_group can be tested without Sphinx.
    from cliff import sphinxext

    class AutoprogramCliffHelpOrder(sphinxext.AutoprogramCliffDirective):

        def _drop_ignored_options(self, parser, ignored_opts):
            # cliff calls this on the parser right before formatting it.
            super()._drop_ignored_options(parser, ignored_opts)
            order_by_group(parser)

    metadata = sphinxext.setup(app)
    app.add_directive('autoprogram-cliff', AutoprogramCliffHelpOrder,
                      override=True)
    return metadata
