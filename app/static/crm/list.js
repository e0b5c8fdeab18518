/* List pages: FAB's row check boxes, bulk actions and confirmation dialog, and the delete
   button of every row: one listener for the page instead of a script per row. */
$(function () {
    if (!document.getElementById("action_form") && !document.getElementById("delete_form")) {
        return;
    }
    var actions = new AdminActions();
    window.modelActions = actions;
    $(document).on("click", "a.crm-delete", function (event) {
        event.preventDefault();
        actions.execute_single_delete(this.dataset.url, this.dataset.question);
    });
});
